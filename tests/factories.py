"""factory_boy factories shared by every app's tests; traits name the role (UserFactory(clerk=True))."""

import factory
from stdnum.cn import ric, uscc

from portal.models import AdminLevel, Department, Hall, Role, User

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
        {"name": "食品安全管理制度", "form": "original", "required": True, "deferrable": True},
        {"name": "场所平面图", "form": "copy", "required": False},
    ]):
        MaterialRequirement.objects.create(version=draft, order=order, **material)
    item_publish(item=item, actor=admin)
    item.refresh_from_db()
    return item
