"""The e-certificate face (照面) as a PDF, drawn by WeasyPrint from HTML.

    pdf = certificate_render_pdf(certificate=certificate)   # unsigned; seals signs it

The page is A4 landscape, laid out in millimetres from the top-left corner with nothing in the normal
flow, so every box lands exactly where it is declared. The seal's visible signature goes into SEAL_BOX,
an area the page leaves empty; the signer reads SEAL_BOX (PDF points, origin bottom-left, page 1).

A certificate type may bring its own HTML (`CertificateType.template`, a Django template string). The
best form extends the generic one and overrides its `face` block, which keeps the frame, the QR code and
the empty seal box:

    {% extends "certificates/certificate.html" %}
    {% block face %}…{% endblock %}
"""

import base64
from pathlib import Path

import qrcode
import qrcode.image.svg
import weasyprint
from django.conf import settings
from django.template import engines
from django.template.loader import render_to_string

from certificates.models import Certificate
from portal.identity import IdType

TEMPLATE = "certificates/certificate.html"

MM = 72 / 25.4  # PDF points per millimetre
PAGE_MM = (297, 210)  # A4 landscape, as most licences (营业执照, 食品经营许可证) are printed
# The empty square the seal stamp goes into: 44 mm (a round 行政审批专用章 is 42 mm), bottom right,
# inside the frame. Millimetres from the page's top-left corner, as the template places it.
SEAL_BOX_MM = {"left": 225.0, "top": 142.0, "size": 44.0}
SEAL_BOX = (
    round(SEAL_BOX_MM["left"] * MM, 2),
    round((PAGE_MM[1] - SEAL_BOX_MM["top"] - SEAL_BOX_MM["size"]) * MM, 2),
    round((SEAL_BOX_MM["left"] + SEAL_BOX_MM["size"]) * MM, 2),
    round((PAGE_MM[1] - SEAL_BOX_MM["top"]) * MM, 2),
)
# More rows than this and the face table uses a smaller type so it stays clear of the issuer block; the
# generic page holds about 12 rows (10 face fields) that way. A type with more brings its own template.
ROOMY_ROWS = 8

HOLDER_LABELS = {
    # (the holder's name, their code) as licences print them
    IdType.RESIDENT_ID: ("姓名", "公民身份号码"),
    IdType.CREDIT_CODE: ("名称", "统一社会信用代码"),
}


def verification_url(identifier: str) -> str:
    """The absolute address the QR code carries: DESIGN §8 fixes the path, PUBLIC_BASE_URL the site."""
    base = getattr(settings, "PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    return f"{base}/verify/{identifier}/"


def certificate_render_pdf(*, certificate: Certificate) -> bytes:
    """The unsigned PDF of one certificate; the certificate need not be saved yet."""
    context = certificate_context(certificate=certificate)
    if certificate.type.template.strip():
        html = engines["django"].from_string(certificate.type.template).render(context)
    else:
        html = render_to_string(TEMPLATE, context)
    return _html_to_pdf(html)


def certificate_context(*, certificate: Certificate) -> dict:
    holder_label, code_label = HOLDER_LABELS.get(certificate.holder_id_type, ("持证主体", "代码"))
    face_rows = [(holder_label, certificate.holder_name), (code_label, certificate.holder_id_number)]
    face_rows += _face_rows(certificate)
    face_rows.append(("有效期限", _validity(certificate)))
    url = verification_url(certificate.identifier)
    return {
        "certificate": certificate,
        "type_name": certificate.type.name,
        "issuer_name": certificate.issuer.name,
        "face_rows": face_rows,
        "compact": len(face_rows) > ROOMY_ROWS,
        "issued_on_display": chinese_date(certificate.issued_on),
        "verify_url": url,
        "qr_code": _qr_code_data_uri(url),
        "page": {"width": PAGE_MM[0], "height": PAGE_MM[1]},
        "seal_box": SEAL_BOX_MM,
    }


def _face_rows(certificate: Certificate) -> list[tuple[str, str]]:
    """照面信息 in the order the type declares, then anything else the issuer recorded."""
    data = certificate.face_data or {}
    declared = [name for name in certificate.type.face_fields or [] if name in data]
    extra = [name for name in data if name not in declared]
    return [(name, _text(data[name])) for name in [*declared, *extra]]


def _text(value) -> str:
    if isinstance(value, (list, tuple)):
        return "、".join(_text(item) for item in value)
    return "" if value is None else str(value)


def _validity(certificate: Certificate) -> str:
    if certificate.valid_until is None:
        return f"自{chinese_date(certificate.valid_from)}起长期有效"
    return f"{chinese_date(certificate.valid_from)}至{chinese_date(certificate.valid_until)}"


def chinese_date(day) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


class RowRunSvgPathImage(qrcode.image.svg.SvgPathImage):
    """qrcode's one-<path> SVG, with each horizontal run of dark modules as one rectangle instead of one
    square per module: half the path to parse, which saves WeasyPrint ~40 ms per certificate."""

    def drawrect_context(self, row, col, qr):
        pass  # the whole path is built from the module matrix in process()

    def process(self):
        unit = self.units(self.box_size, text=False)
        subpaths = []
        for row, modules in enumerate(self.modules):
            col = 0
            while col < len(modules):
                if not modules[col]:
                    col += 1
                    continue
                start = col
                while col < len(modules) and modules[col]:
                    col += 1
                x, y, width = (start + self.border) * unit, (row + self.border) * unit, (col - start) * unit
                subpaths.append(f"M{x},{y}h{width}v{unit}h-{width}z")
        self._subpaths = subpaths
        super().process()


def _qr_code_data_uri(text: str) -> str:
    image = qrcode.make(text, image_factory=RowRunSvgPathImage, border=1)
    svg = image.to_string(encoding="unicode")
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _html_to_pdf(html: str) -> bytes:
    # Everything the page shows is inside the HTML (the QR code is a data: URI, the fonts come from
    # fontconfig), so only data: URIs load: a type template cannot make the renderer read files or call out.
    fetcher = weasyprint.URLFetcher(allowed_protocols={"data"})
    base_url = (Path(settings.BASE_DIR) / "templates" / "certificates").as_uri() + "/"
    return weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher).write_pdf()
