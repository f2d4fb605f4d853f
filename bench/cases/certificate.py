"""DESIGN §12: render + sign one certificate PDF, median < 0.5 s, next to WeasyPrint alone on a minimal page."""

from __future__ import annotations

import gc
import statistics
import time
from datetime import date

from bench.data.catalogue import build_catalogue
from bench.lib import Context, Row

NAME = "certificate"
ORDER = 50
TARGET_SECONDS = 0.5
FULL_RUNS = 30
MINIMAL_HTML = "<!doctype html><html lang='zh'><body><p>长春市政务服务中心电子证照</p></body></html>"

HOW_MEASURED = """
The seal comes from the real services: `seals.services.seal_ca_init()` (the center CA) and
`seal_create(department_code=…)` for the department that issues 食品经营许可证 in the catalogue (its
drawn impression, a key certified by the CA, stored encrypted under SEAL_MASTER_KEY). The certificate is an
unsaved `certificates.models.Certificate` of that type as `certificate_issue` builds it (GB/T 36904
identifier, a company holder with its 统一社会信用代码, face data of eight fields, five-year validity).
One run = `certificates.rendering.certificate_render_pdf(certificate=…)` (Django template, QR code,
WeasyPrint with the CJK font subset) + `seals.signing.SealSigner(seal=…, authority=…).sign(pdf,
box=SEAL_BOX)` (key decryption, PAdES signature by pyHanko with the seal image as the visible stamp), as
`seals.services.seal_issue_complete` does for every issuance; a new signer per run, as there. The
reference, WeasyPrint alone (`weasyprint.HTML(string=…).write_pdf()`) on a minimal page with one Chinese
line, is timed alternately with it, after two warm-up runs of each, so both see the same machine.
Every signed PDF is checked by `seals.signing.pdf_signature_is_valid` once.
"""


def seal_and_certificate(ctx: Context):
    """(seal, authority, an unsaved certificate) — shared with the memory case."""

    def build():
        from certificates.identifiers import certificate_identifier
        from certificates.models import Certificate, CertificateType
        from certificates.services import valid_until_for
        from seals.models import Seal, SealStatus
        from seals.services import seal_ca_init, seal_create

        ctx.once("catalogue", lambda: build_catalogue(scale=ctx.scale, log=ctx.log))
        authority, _ = seal_ca_init()
        certificate_type = (CertificateType.objects.select_related("department").filter(name="食品经营许可证").first()
                            or CertificateType.objects.select_related("department").order_by("pk").first())
        department = certificate_type.department
        seal = (Seal.objects.select_related("department").filter(department=department, status=SealStatus.ACTIVE).first()
                or seal_create(department_code=department.code))
        issued = date.today()
        holder_code = "91220101MA0Y3K8X2R"
        from stdnum.cn import uscc

        holder_code = holder_code[:17] + uscc.calc_check_digit(holder_code[:17])
        certificate = Certificate(
            identifier=certificate_identifier(type_code=certificate_type.code, issuer_credit_code=department.credit_code,
                                              serial="000123", version=1),
            type=certificate_type, issuer=department, serial="000123", version=1, holder=None,
            holder_name="长春市南湖餐饮管理有限公司", holder_id_type="001", holder_id_number=holder_code,
            issued_on=issued, valid_from=issued,
            valid_until=valid_until_for(valid_from=issued, years=certificate_type.validity_years or 5),
            face_data={
                "持证人": "长春市南湖餐饮管理有限公司", "证件号码": holder_code, "有效期": "五年",
                "法定代表人": "王建国", "住所": "吉林省长春市南关区人民大街5688号", "经营场所": "长春市南关区南湖大路1号一层",
                "主体业态": "餐饮服务经营者（中型餐馆）", "经营项目": "热食类食品制售、冷食类食品制售、自制饮品制售",
            },
            application_number="NET-20261124-000123",
        )
        return seal, authority, certificate

    return ctx.once("seal_and_certificate", build)


def run(ctx: Context) -> list[Row]:
    import weasyprint

    from certificates.rendering import SEAL_BOX, certificate_render_pdf
    from seals.signing import SealSigner, pdf_signature_is_valid

    seal, authority, certificate = seal_and_certificate(ctx)
    runs = ctx.scaled(FULL_RUNS, minimum=3)

    def minimal() -> bytes:
        return weasyprint.HTML(string=MINIMAL_HTML).write_pdf()

    def render_and_sign() -> tuple[float, float, bytes]:
        started = time.perf_counter()
        pdf = certificate_render_pdf(certificate=certificate)
        rendered = time.perf_counter()
        signed = SealSigner(seal=seal, authority=authority).sign(pdf, box=SEAL_BOX)
        return rendered - started, time.perf_counter() - rendered, signed

    for _ in range(2):
        minimal()
        *_, signed = render_and_sign()
    if not pdf_signature_is_valid(signed):
        raise RuntimeError("the signed certificate does not validate")
    totals, renders, signs, minimals = [], [], [], []
    gc.collect()
    for _ in range(runs):
        started = time.perf_counter()
        minimal()
        minimals.append(time.perf_counter() - started)
        render, sign, _ = render_and_sign()
        renders.append(render)
        signs.append(sign)
        totals.append(render + sign)
    median = statistics.median(totals)
    reference = statistics.median(minimals)
    loads, load_ms = _key_loads(seal, authority, certificate)
    ctx.note(f"Signed PDF: {len(signed) / 1024:.0f} KiB; per run (medians of {runs}): render "
             f"{statistics.median(renders) * 1000:.0f} ms, sign {statistics.median(signs) * 1000:.0f} ms; "
             f"WeasyPrint minimal page {reference * 1000:.0f} ms.")
    return [
        Row(what="certificate: render + sign one PDF (食品经营许可证, PAdES with the seal)",
            figure=f"{median * 1000:.0f} ms median (n={runs}; p95 {sorted(totals)[int(0.95 * (runs - 1))] * 1000:.0f} ms)",
            target=f"< {TARGET_SECONDS * 1000:.0f} ms median",
            reference=f"WeasyPrint alone, minimal page: {reference * 1000:.0f} ms median",
            passed=median < TARGET_SECONDS, value=median * 1000, unit="ms"),
        Row(what="· render (certificate_render_pdf)", figure=f"{statistics.median(renders) * 1000:.0f} ms median"),
        Row(what="· sign (SealSigner: key decryption + PAdES)", figure=f"{statistics.median(signs) * 1000:.0f} ms median"),
        Row(what="· of which validating RSA private-key loads (pyHanko's SimpleSigner reloads the key per raw signature)",
            figure=f"{loads} per signed PDF × {load_ms:.0f} ms = {loads * load_ms:.0f} ms"),
    ]


def _key_loads(seal, authority, certificate) -> tuple[int, float]:
    """How often one render + sign parses the seal's RSA private key, and what one parse costs: cryptography
    checks an RSA key's consistency on every load unless told not to, and pyHanko's SimpleSigner reloads
    its key from DER for each raw signature (twice per PDF: once to size the signature container)."""
    from cryptography.hazmat.primitives import serialization

    from certificates.rendering import SEAL_BOX, certificate_render_pdf
    from seals.keys import decrypt_key
    from seals.signing import SealSigner

    calls = []
    original = serialization.load_der_private_key

    def counted(*args, **kwargs):
        calls.append(not kwargs.get("unsafe_skip_rsa_key_validation", False))
        return original(*args, **kwargs)

    pdf = certificate_render_pdf(certificate=certificate)
    serialization.load_der_private_key = counted
    try:
        SealSigner(seal=seal, authority=authority).sign(pdf, box=SEAL_BOX)
    finally:
        serialization.load_der_private_key = original
    der = decrypt_key(seal.encrypted_key).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        original(der, password=None)
        timings.append(time.perf_counter() - started)
    # Counted: the loads that validate the key (pyHanko's SimpleSigner.sign_raw, and seals.keys.decrypt_key
    # unless it skips the check), all through the same module function.
    return sum(calls), statistics.median(timings) * 1000
