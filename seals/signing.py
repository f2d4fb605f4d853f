"""The one interface through which a seal signs: PAdES (pyHanko) today; SM2/SM3 (GB/T 38540) can come in
behind the same `sign(pdf) -> pdf` later without the callers changing."""

import io
import logging

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from PIL import Image
from pyhanko import stamp
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from seals.keys import decrypt_key, load_certificate

logger = logging.getLogger(__name__)

# Where the visible stamp goes when the document does not say: bottom right of page 1 (PDF points).
DEFAULT_SEAL_BOX = (400, 60, 540, 200)


def _asn1_cert(pem: str) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(load_certificate(pem).public_bytes(serialization.Encoding.DER))


class SealSigner:
    """Signs with one seal's key, certified by the center CA, with the seal image as the visible stamp."""

    def __init__(self, *, seal, authority):
        self.seal = seal
        key = decrypt_key(seal.encrypted_key)
        der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        ca = _asn1_cert(authority.certificate_pem)
        self._signer = signers.SimpleSigner(
            signing_cert=_asn1_cert(seal.certificate_pem),
            signing_key=asn1_keys.PrivateKeyInfo.load(der),
            cert_registry=SimpleCertificateStore.from_certs([ca]),
        )
        self._stamp = stamp.StaticStampStyle(
            background=PdfImage(Image.open(io.BytesIO(bytes(seal.image)))), background_opacity=1, border_width=0,
        )

    def sign(self, pdf: bytes, *, box=DEFAULT_SEAL_BOX, page: int = 0, reason: str = "", location: str = "") -> bytes:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        field_name = "Seal"
        fields.append_signature_field(writer, fields.SigFieldSpec(field_name, box=tuple(box), on_page=page))
        # Reason: the seal's kind (行政审批专用章, 政务服务专用章); location: the department, or the service
        # center for its own seal, which has no department.
        organ = self.seal.department.name if self.seal.department_id else settings.SERVICE_CENTER_NAME
        metadata = signers.PdfSignatureMetadata(
            field_name=field_name, subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256",
            reason=reason or self.seal.get_seal_type_display(), location=location or organ, name=self.seal.name,
        )
        output = signers.PdfSigner(metadata, signer=self._signer, stamp_style=self._stamp).sign_pdf(writer)
        return output.getvalue()


def pdf_signature_is_valid(data: bytes) -> bool:
    """True when the PDF carries a signature that is intact, covers the whole file, and chains to our CA."""
    from seals.models import SealAuthority

    authority = SealAuthority.objects.first()
    if authority is None:
        return False
    try:
        reader = PdfFileReader(io.BytesIO(data))
        signatures = reader.embedded_signatures
        if not signatures:
            return False
        context = ValidationContext(trust_roots=[_asn1_cert(authority.certificate_pem)], allow_fetching=False)
        status = validate_pdf_signature(signatures[-1], context)
    except Exception as error:  # a damaged or foreign file is simply not valid
        logger.info("签名验证失败：%s", error)
        return False
    return bool(status.intact and status.valid and status.trusted and status.coverage.name == "ENTIRE_FILE")
