"""factory_boy factories shared by every app's tests; traits name the role (UserFactory(clerk=True)) or the
state (ApplicationFactory(accepted=True))."""

import factory
from stdnum.cn import ric, uscc

from applications import selectors, services
from applications.models import Application, State
from portal.models import AdminLevel, Department, Hall, Role, User
from seals.models import IssuanceStatus, Seal, SealStatus
from seals.services import seal_ca_init, seal_create, seal_issue
from seals.tasks import seal_issue_task
from tests.files import pdf_file

TEST_PASSWORD = "Test-pass-2026"


def credit_code(n: int) -> str:
    body = f"91220100MA{n:07d}"
    return body + uscc.calc_check_digit(body)


def resident_id(n: int, *, region: str = "220102") -> str:
    """A valid 居民身份证 number, born in January 1990; `region` keeps separate series from colliding."""
    body = f"{region}199001{1 + n % 28:02d}{n % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"DEPT{n:03d}")
    name = factory.Sequence(lambda n: f"测试市第{n}局")
    credit_code = factory.Sequence(credit_code)
    level = AdminLevel.CITY


class HallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Hall
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"HALL{n:02d}")
    name = factory.Sequence(lambda n: f"测试政务服务中心{n}")
    windows = 10


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    real_name = "张三"
    role = Role.APPLICANT
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    class Params:
        clerk = factory.Trait(role=Role.CLERK, hall=factory.SubFactory(HallFactory))
        reviewer = factory.Trait(role=Role.REVIEWER, department=factory.SubFactory(DepartmentFactory))
        head = factory.Trait(role=Role.HEAD, department=factory.SubFactory(DepartmentFactory))
        custodian = factory.Trait(role=Role.CUSTODIAN)
        catalogue_admin = factory.Trait(role=Role.CATALOGUE_ADMIN, is_staff=True)
        supervisor = factory.Trait(role=Role.SUPERVISOR)
        identified = factory.Trait(id_type="111", id_number=factory.Sequence(resident_id))

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create:
            instance.save()


def published_item(
    *,
    code: str | None = None,
    name: str = "食品经营许可（新办）",
    department: Department | None = None,
    promised_days: int = 5,
    statutory_days: int = 20,
    online: bool = True,
    materials: list[dict] | None = None,
    **fields,
):
    """An item with one published version, made through the catalogue services as an admin would."""
    from items.models import MaterialRequirement
    from items.services import item_create, item_draft_from_current, item_publish

    admin = UserFactory(catalogue_admin=True)
    department = department or DepartmentFactory()
    code = code or f"11220100MB1234567K40001170{Department.objects.count():05d}"[:36]
    item = item_create(code=code, basic_code="0001170010", department=department, actor=admin)
    draft = item_draft_from_current(item=item, actor=admin)
    values = {
        "name": name, "item_type": "01", "audience": ["1", "2"], "handling": "promised" if promised_days else "instant",
        "statutory_days": statutory_days, "promised_days": promised_days, "max_visits": 1, "online": online,
        "express": True, "hotline": "0431-12345", "supervision_phone": "0431-12345",
        "conditions": "申请人具有合法主体资格", "procedure": ["受理", "审查", "决定", "送达"], **fields,
    }
    for field, value in values.items():
        setattr(draft, field, value)
    draft.save()
    for order, material in enumerate(materials if materials is not None else [
        {"name": "食品经营许可申请书", "form": "original", "required": True},
        {"name": "营业执照", "form": "copy", "required": True},
        # Optional here: a required 容缺 material blocks approval until it is in (DESIGN §14; tests/applications/
        # test_deferral.py makes it required where that is the point).
        {"name": "食品安全管理制度", "form": "original", "required": False, "deferrable": True},
        {"name": "场所平面图", "form": "copy", "required": False},
    ]):
        MaterialRequirement.objects.create(version=draft, order=order, **material)
    item_publish(item=item, actor=admin)
    item.refresh_from_db()
    return item


APPROVAL_OPINION = "材料齐全，符合法定条件"
REJECTION_OPINION = "经营场所不符合要求"
REJECTION_LEGAL_BASIS = "《食品经营许可和备案管理办法》第十二条"


class ApplicationFactory(factory.Factory):
    """A case (办件) taken to its state through applications.services, step by step as DESIGN §5 has the
    people do it: the applicant creates it online, uploads every required material and submits; a clerk
    accepts; a reviewer of the item's department claims and decides; a custodian stamps it with the
    department's seal and the issuance task runs in-process (seals' real path). Nothing sets `state`.

    The trait names the state: ApplicationFactory(submitted=True), (accepted=True), (in_review=True),
    (approved=True), (rejected=True), (issued=True); issued=True with decision="reject" issues the decision
    letter of a rejection. Pass `item`, `applicant`, `clerk`, `reviewer`, `custodian` to reuse them; whoever
    is missing is made. `ApplicationFactory.advance(case, to=...)` takes an existing case further.
    """

    class Meta:
        model = Application

    item = factory.LazyFunction(published_item)
    applicant = factory.SubFactory(UserFactory, identified=True)
    form_data = factory.LazyFunction(lambda: {"经营场所": "人民大街 1 号"})
    state = State.DRAFT
    decision = "approve"
    clerk = None
    reviewer = None
    custodian = None
    organisation = ""  # a credit code: filed as that organisation by `applicant`, its agent
    principal = None  # {name, id_type, id_number}: filed by `applicant` for this person (代办)

    class Params:
        submitted = factory.Trait(state=State.SUBMITTED)
        accepted = factory.Trait(state=State.ACCEPTED)
        in_review = factory.Trait(state=State.IN_REVIEW)
        approved = factory.Trait(state=State.APPROVED)
        rejected = factory.Trait(state=State.REJECTED, decision="reject")
        issued = factory.Trait(state=State.ISSUED)

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        raise TypeError("a case exists only through the services: ApplicationFactory(...) creates it, never .build()")

    @classmethod
    def _create(cls, model_class, *, item, applicant, form_data, state, organisation, principal, **steps):
        case = services.application_create(actor=applicant, item_code=item.code, form_data=form_data,
                                           organisation=organisation, principal=principal)
        return cls.advance(case, to=state, **steps)

    @classmethod
    def advance(cls, case: Application, *, to: str, clerk: User | None = None, reviewer: User | None = None,
                custodian: User | None = None, decision: str = "approve", opinion: str | None = None,
                legal_basis: str = REJECTION_LEGAL_BASIS, face_data: dict | None = None) -> Application:
        """Take `case` from its state along the lifecycle to `to`, one service call per transition; the
        case as stored afterwards."""
        decided = State.REJECTED if to == State.REJECTED or decision == "reject" else State.APPROVED
        path = [State.DRAFT, State.SUBMITTED, State.ACCEPTED, State.IN_REVIEW, decided, State.ISSUED]
        case.refresh_from_db()
        if to not in path or case.state not in path or path.index(case.state) > path.index(to):
            raise ValueError(f"ApplicationFactory cannot take a case from {case.state} to {to}")
        for step in path[path.index(case.state) + 1:path.index(to) + 1]:
            if step == State.SUBMITTED:
                for requirement in selectors.missing_requirements(case):
                    services.application_material_upload(
                        actor=case.applicant, application=case, requirement_id=requirement.pk, upload=pdf_file())
                services.application_submit(actor=case.applicant, application=case)
            elif step == State.ACCEPTED:
                services.application_accept(actor=clerk or UserFactory(clerk=True), application=case)
            elif step == State.IN_REVIEW:
                reviewer = reviewer or UserFactory(reviewer=True, department=case.department)
                services.application_claim(actor=reviewer, application=case)
            elif step == State.APPROVED:
                services.application_approve(actor=reviewer or case.reviewer, application=case,
                                             opinion=opinion or APPROVAL_OPINION, face_data=face_data)
            elif step == State.REJECTED:
                services.application_reject(actor=reviewer or case.reviewer, application=case,
                                            opinion=opinion or REJECTION_OPINION, legal_basis=legal_basis)
            else:
                cls._stamp(case, custodian=custodian or UserFactory(custodian=True))
            case.refresh_from_db()
            assert case.state == step, f"ApplicationFactory: {case.number} is {case.state} after the step to {step}"
        return case

    @staticmethod
    def _stamp(case: Application, *, custodian: User) -> None:
        """What the custodian's 用印签发 and the worker do: the order (seal_issue), then the issuance task."""
        if not Seal.objects.filter(department_id=case.department_id, status=SealStatus.ACTIVE).exists():
            seal_ca_init()
            seal_create(department_code=case.department.code)
        issuance = seal_issue(actor=custodian, application=case)
        seal_issue_task.apply(args=[issuance.pk]).get()
        issuance.refresh_from_db()
        if issuance.status != IssuanceStatus.DONE:
            raise AssertionError(f"issuance of {case.number} did not complete: {issuance.status} {issuance.last_error}")


def organisation_with_rep(*, kind: str = "2", n: int = 1, name: str | None = None):
    """An organisation of A.4 `kind` whose legal representative (returned with it) may file its cases."""
    from organisations.models import Organisation

    rep = UserFactory(identified=True)
    organisation = Organisation.objects.create(
        name=name or f"测试单位{n}", credit_code=credit_code(500 + n), kind=kind, legal_rep_name=rep.real_name,
        legal_rep_id_number=rep.id_number, legal_rep=rep, created_by=rep)
    return organisation, rep

