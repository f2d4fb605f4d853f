"""The multi-host rehearsal's data and its checks, run by bench/cases/rehearsal.py as a subprocess with Django
pointed at the rehearsal's own primary (bench.settings, DATABASE_URL): the benchmark process itself stays on
its own database. Every write goes through the project's services, as on a real portal.

    python -m bench.rehearsal_data build CASES     → JSON: the case numbers, the item, the logins
    python -m bench.rehearsal_data sweep FILE      → JSON: what the retry sweeps sent, issued, sealed
    python -m bench.rehearsal_data check FILE      → JSON: transitions, notifications, issuance of the cases in FILE
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter, defaultdict

import django

ITEM_CODE = "11220100MB0000001Y0100990900001"  # 长春市市场监督管理局 (CCSJ) + basic code + 001
CERTIFICATE_TYPE = "REHEARSAL-LIC"
# The transitions the load driver makes, and the audit actions that must each appear exactly once per case:
# accept, claim, approve by their services, the custodian's order (seal_issue_request) and the worker's issue.
DRIVEN = ("application_accept", "application_claim", "application_approve", "seal_issue_request", "application_issue")
ROLES = {"clerk": "clerk", "reviewer": "reviewer", "custodian": "custodian"}  # role → demo login
FORM = {"持证人": "张伟", "证件号码": "220102199003071235", "有效期": "五年"}


def _pdf(text: str) -> bytes:
    """A small well-formed one-page PDF (real xref offsets), as a scanner writes one."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n% " + text.encode() + b"\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _catalogue() -> None:
    """The demo catalogue (what the catalogue reads search), and one licence item of CCSJ whose approval
    yields a 演练许可证, imported through the catalogue's own importer as an administrator's file would be."""
    from items import demo as items_demo
    from items.services import catalogue_import

    items_demo.load()
    catalogue_import(actor=None, data={
        "certificate_types": [{"code": CERTIFICATE_TYPE, "name": "演练许可证", "department": "CCSJ", "validity_years": 5,
                               "face_fields": list(FORM)}],
        "items": [{
            "code": ITEM_CODE, "basic_code": "0100990900", "name": "演练许可（新办）", "item_type": "01", "level": "3",
            "department": "CCSJ", "audience": ["1"], "themes": [], "handling": "promised", "statutory_days": 20,
            "promised_days": 5, "max_visits": 0, "online": True, "express": True, "appointment": False,
            "scope": "city", "onsite_inspection": False, "fee": "不收费", "conditions": "申请人具有合法主体资格。",
            "procedure": ["网上申报", "受理", "审查", "决定", "送达"], "legal_basis": "《中华人民共和国行政许可法》",
            "location": "长春市政务服务中心", "hotline": "0431-12345", "supervision_phone": "0431-12345",
            "materials": [{"name": "演练许可申请书", "form": "electronic", "required": True}],
            "result_name": "演练许可证", "certificate_type": CERTIFICATE_TYPE,
        }],
        "bundles": [],
    })


def build(count: int) -> dict:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from applications import selectors, services
    from portal import demo as portal_demo
    from portal.models import User
    from seals.models import Seal, SealStatus, SealType
    from seals.services import seal_ca_init, seal_create, seal_create_center

    started = time.perf_counter()
    # The demo's departments and halls, and of its accounts the four the rehearsal uses: production's hasher
    # spends ~0.5 s of CPU on each password, and this is a one-off process.
    portal_demo.USERS = [user for user in portal_demo.USERS if user[0] in ("citizen", *ROLES.values())]
    portal_demo.load()
    _catalogue()
    seal_ca_init()
    if not Seal.objects.filter(seal_type=SealType.CENTER, status=SealStatus.ACTIVE).exists():
        seal_create_center()  # intake documents are sealed with it
    if not Seal.objects.filter(department__code="CCSJ", status=SealStatus.ACTIVE).exists():
        seal_create(department_code="CCSJ")
    citizen = User.objects.get(username="citizen")
    prepared = time.perf_counter()
    numbers = []
    for index in range(count):
        case = services.application_create(actor=citizen, item_code=ITEM_CODE, form_data=FORM,
                                           contact_phone="13800000000", contact_address="长春市南关区人民大街1号")
        for requirement in selectors.missing_requirements(case):
            upload = SimpleUploadedFile("申请书.pdf", _pdf(f"rehearsal {index}"), content_type="application/pdf")
            services.application_material_upload(actor=citizen, application=case, requirement_id=requirement.pk,
                                                 upload=upload)
        services.application_submit(actor=citizen, application=case)
        numbers.append(case.number)
    return {"numbers": numbers, "seconds": {"prepare": prepared - started, "cases": time.perf_counter() - prepared},
            "item": ITEM_CODE, "password": portal_demo.DEMO_PASSWORD, **ROLES}


def _acceptance_notices(numbers: list[str]):
    from applications.documents import DocumentKind
    from applications.models import Document

    return Document.objects.filter(application__number__in=numbers, kind=DocumentKind.ACCEPTANCE_NOTICE)


def sweep(numbers: list[str]) -> dict:
    """What beat's notification-retry (every 2 min), issuance-retry and document-seal-retry (every 5 min)
    timers do, brought forward: rows whose queued message died with a killed worker are sent, issued and
    sealed now instead of at the next tick. The document sweep's own call (`document_seal`) on these cases'
    acceptance notices only: the data build's receipts were left unsealed on purpose (their tasks flushed)."""
    from portal.notifications import notification_retry_sweep
    from seals.services import document_seal, seal_issue_retry_sweep

    unsealed = list(_acceptance_notices(numbers).filter(sha256="").values_list("pk", flat=True))
    return {"notifications": notification_retry_sweep(), "issuances": seal_issue_retry_sweep(older_than_minutes=0),
            "documents": sum(document_seal(document_id=pk, wait=False) for pk in unsealed)}


def check(numbers: list[str]) -> dict:
    """Per case: each driven transition's audit event exactly once (AuditEvent rows by object, whichever
    chain holds them), its notifications sent, its certificate issued, signed and stored."""
    from django.core.files.storage import default_storage

    from applications.models import Application
    from certificates.models import Certificate
    from portal.models import AuditEvent, Notification
    from seals.models import Issuance

    events: dict[str, Counter] = defaultdict(Counter)
    for number, action in AuditEvent.objects.filter(object_type="application", object_id__in=numbers,
                                                    action__in=DRIVEN).values_list("object_id", "action"):
        events[number][action] += 1
    missing, doubled = Counter(), Counter()
    for number in numbers:
        for action in DRIVEN:
            seen = events[number][action]
            if seen == 0:
                missing[action] += 1
            elif seen > 1:
                doubled[action] += seen - 1
    chains = sorted(set(AuditEvent.objects.filter(object_type="application", object_id__in=numbers)
                        .values_list("chain", flat=True))) if hasattr(AuditEvent, "chain") else []
    notifications = Notification.objects.filter(application__in=numbers)
    cases = Application.objects.filter(number__in=numbers)
    states = Counter(cases.values_list("state", flat=True))
    identifiers = [identifier for identifier in cases.values_list("certificate_identifier", flat=True) if identifier]
    certificates = Certificate.objects.filter(identifier__in=identifiers)
    stored = sum(1 for certificate in certificates if certificate.pdf and default_storage.exists(certificate.pdf.name)
                 and certificate.sha256)
    issuances = Counter(Issuance.objects.filter(application__number__in=numbers).values_list("status", flat=True))
    return {
        "cases": len(numbers),
        "events": sum(sum(counter.values()) for counter in events.values()),
        "missing": dict(missing), "doubled": dict(doubled), "chains": chains,
        "notifications": notifications.count(), "notifications_sent": notifications.filter(sent_at__isnull=False).count(),
        "notifications_retried": notifications.filter(attempts__gt=1).count(),
        "states": dict(states), "issuing": cases.filter(issuing=True).count(),
        "certificates": certificates.count(), "certificates_stored": stored,
        "issuances": dict(issuances),
        "notices": _acceptance_notices(numbers).count(), "notices_sealed": _acceptance_notices(numbers).exclude(sha256="").count(),
    }


def main(argv: list[str]) -> None:
    django.setup()
    command = argv[0]
    if command == "build":
        result = build(int(argv[1]))
    elif command in ("sweep", "check"):
        with open(argv[1], encoding="utf-8") as numbers:
            result = (sweep if command == "sweep" else check)(json.load(numbers))
    else:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1:])
