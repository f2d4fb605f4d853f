"""The intake documents (受理通知书, 补正材料通知书, 不予受理通知书, 材料接收凭证) as PDFs.

A document is rendered from a frozen snapshot: a dict of plain JSON values that the caller stores with the
case, so rendering it again years later prints the same text even if the item, the department or the
applicant has changed since. Nothing here reads the database.

    pdf = render_document_pdf(kind=DocumentKind.ACCEPTANCE_NOTICE, context=snapshot)
"""

import base64
import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
import weasyprint
from django.conf import settings
from django.db import models
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone


class DocumentKind(models.TextChoices):
    ACCEPTANCE_NOTICE = "acceptance_notice", "受理通知书"
    MATERIALS_NOTICE = "materials_notice", "补正材料通知书"  # 一次性告知
    REFUSAL_NOTICE = "refusal_notice", "不予受理通知书"
    RECEIPT = "receipt", "材料接收凭证"
    # Decision letters, stamped by the center with the department's seal at issuance (DESIGN §7).
    APPROVAL_DECISION = "approval_decision", "准予行政许可决定书"
    REJECTION_DECISION = "rejection_decision", "不予行政许可决定书"


# 行政许可法 第三十二条: what the center hands the applicant at intake bears a seal and a date. These are
# sealed with the service center's 政务服务专用章 once stored (seals.services.document_seal); the decision
# letters carry the department's seal, at issuance.
CENTER_SEALED_KINDS = frozenset({
    DocumentKind.ACCEPTANCE_NOTICE, DocumentKind.MATERIALS_NOTICE, DocumentKind.REFUSAL_NOTICE, DocumentKind.RECEIPT,
})
# The mark (portal.broker.wake) of a sealing drain queued and not begun: set by the intake commits, cleared by
# seals.services.document_seal_drain.
DOCUMENT_SEAL_WAKE = "document-seal"

TEMPLATE_DIR = "applications/documents"

# Keys every snapshot carries; `hall_name` and `clerk_name` may be "" (online cases) but must be present,
# so a snapshot that forgot them fails here rather than printing a blank. Optional, read with .get so older
# snapshots still render: `organ_name` (who signs the document under the seal; the department otherwise).
COMMON_KEYS = (
    "number",
    "document_number",
    "issued_on",
    "hall_name",
    "department_name",
    "item_name",
    "item_code",
    "applicant_name",
    "applicant_id_masked",
    "clerk_name",
    "hotline",
    "supervision_phone",
)
KIND_KEYS = {
    DocumentKind.ACCEPTANCE_NOTICE: (
        "submitted_on",
        "accepted_on",
        "promised_days",
        "due_date",
        "due_date_provisional",
        "materials",
        "visits_note",
    ),
    DocumentKind.MATERIALS_NOTICE: ("deficiencies", "deadline_note"),
    DocumentKind.REFUSAL_NOTICE: ("reason", "legal_basis", "decided_by"),
    # materials: one row per file received (name, version, file_name, size, size_label, received_at)
    DocumentKind.RECEIPT: ("materials", "received_at"),
    DocumentKind.APPROVAL_DECISION: ("opinion", "decided_by", "result_name"),
    DocumentKind.REJECTION_DECISION: ("opinion", "legal_basis", "decided_by"),
}
DATE_KEYS = ("issued_on", "submitted_on", "accepted_on", "due_date", "deferral_due")
DATETIME_KEYS = ("received_at",)


# A round approval seal is about 42 mm across (120 pt); it is pressed over the issuing organ and date.
SEAL_SIZE_PT = 120
CSS_PX_TO_PT = 0.75


@dataclass(frozen=True)
class RenderedDocument:
    pdf: bytes
    seal_page: int
    seal_box: tuple[float, float, float, float]  # PDF points, origin bottom-left


def render_document_pdf(*, kind: str, context: dict) -> bytes:
    """Render one document from a frozen JSON-able snapshot (the caller stores the snapshot, so re-rendering later gives the same text)."""
    return render_document(kind=kind, context=context).pdf


def render_document(*, kind: str, context: dict) -> RenderedDocument:
    """The PDF and where the seal goes: centred on the signature block (organ + date), wherever the
    layout put it, so a sealed decision letter looks stamped by hand."""
    kind = DocumentKind(kind)  # ValueError for an unknown kind
    _check_snapshot(kind=kind, context=context)
    html = render_to_string(
        f"{TEMPLATE_DIR}/{kind.value}.html",
        {
            **context,
            # A decision letter may name itself more precisely (准予注销决定书, DESIGN §14).
            "title": context.get("document_title") or kind.label,
            "display": _display_values(context),
            "qr_code": qr_code_data_uri(query_url(context["number"])),
        },
    )
    document = _layout(html)
    page, box = _signature_box(document)
    return RenderedDocument(pdf=document.write_pdf(), seal_page=page, seal_box=box)


def _signature_box(document) -> tuple[int, tuple[float, float, float, float]]:
    for index, page in enumerate(document.pages):
        stack = [page._page_box]
        while stack:
            box = stack.pop()
            element = getattr(box, "element", None)
            if element is not None and "signature" in (element.get("class") or "").split():
                center_x = (box.border_box_x() + box.border_width() / 2) * CSS_PX_TO_PT
                center_y = (page.height - box.border_box_y() - box.border_height() / 2) * CSS_PX_TO_PT
                half = SEAL_SIZE_PT / 2
                return index, (center_x - half, center_y - half, center_x + half, center_y + half)
            stack.extend(getattr(box, "children", []))
    last = len(document.pages) - 1
    width = document.pages[last].width * CSS_PX_TO_PT
    return last, (width - 200, 80, width - 200 + SEAL_SIZE_PT, 80 + SEAL_SIZE_PT)


def _layout(html: str):
    """The one place WeasyPrint is called for these documents."""
    # Everything a document shows is inside the HTML (the QR code is a data: URI, the fonts come from
    # fontconfig), so the fetcher refuses file and network URLs: no snapshot text can make the renderer
    # read the disk or call out. Relative URLs would resolve against the templates, never the cwd.
    fetcher = weasyprint.URLFetcher(allowed_protocols={"data"})
    base_url = (Path(settings.BASE_DIR) / "templates" / TEMPLATE_DIR).as_uri() + "/"
    return weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher).render()


def _check_snapshot(*, kind: DocumentKind, context: dict) -> None:
    missing = [key for key in (*COMMON_KEYS, *KIND_KEYS[kind]) if key not in context]
    if missing:
        raise ValueError(f"{kind.value} snapshot is missing: {', '.join(missing)}")
    # Only JSON values: what is rendered now is exactly what the stored snapshot will render later
    # (a date object would be stored as a string and could print differently).
    json.dumps(context)
    # 个人信息保护法 第六条 (minimum necessary): a notice handed over the counter shows the ID number
    # masked; refuse a full one rather than print it.
    if "*" not in context["applicant_id_masked"]:
        raise ValueError("applicant_id_masked must be masked (e.g. 220102********1235)")
    if kind == DocumentKind.MATERIALS_NOTICE:
        # 行政许可法 第三十二条: the notice tells *all* deficiencies at once, so it must name at least one,
        # each with the requirement it concerns and the reason.
        deficiencies = context["deficiencies"]
        if not deficiencies:
            raise ValueError("a materials notice must list at least one deficiency")
        for deficiency in deficiencies:
            if not deficiency.get("requirement") or not deficiency.get("reason"):
                raise ValueError("every deficiency needs a requirement and a reason")


def _display_values(context: dict) -> dict:
    """Dates as official documents print them (GB/T 9704: 2026年12月1日, no leading zeros; 9时32分)."""
    display = {}
    for key in DATE_KEYS:
        if context.get(key):
            display[key] = _chinese_date(date.fromisoformat(context[key]))
    for key in DATETIME_KEYS:
        if context.get(key):
            display[key] = _chinese_datetime(context[key])
    materials = context.get("materials") or []
    # The material rows with their times as printed (the receipt gives each file's own time of receipt).
    display["materials"] = [
        {**material, "received_at": _chinese_datetime(material["received_at"]) if material.get("received_at") else ""}
        for material in materials
    ]
    display["has_deferred_materials"] = any(material.get("status") == "容缺后补" for material in materials)
    display["has_committed_materials"] = any(material.get("status") == "以告知承诺代替" for material in materials)
    return display


def _chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _chinese_datetime(value: str) -> str:
    moment = datetime.fromisoformat(value)
    if timezone.is_aware(moment):
        # Beijing time whatever zone a request activated: the same snapshot prints the same hour.
        moment = timezone.localtime(moment, timezone.get_default_timezone())
    return f"{_chinese_date(moment)}{moment.hour}时{moment.minute:02d}分"


def size_label(size: int) -> str:
    """A file's size as people read it: 820 B, 35.2 KB, 1.2 MB (1 KB = 1024 B)."""
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    for unit in ("KB", "MB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def query_url(number: str) -> str:
    """The address a document's QR code opens: the public case query with the number filled in (DESIGN §13);
    absolute, from PUBLIC_BASE_URL, because a phone scanning the paper knows no site."""
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{reverse('public:query')}?{urlencode({'number': number})}"


def qr_code_data_uri(text: str) -> str:
    # A single <path> (not one <rect> per module) keeps the SVG small and quick for WeasyPrint to draw.
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    svg = image.to_string(encoding="unicode")
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
