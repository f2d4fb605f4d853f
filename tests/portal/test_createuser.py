"""`manage.py createuser` for every role (DESIGN §9), and the errors a mistyped command gets."""

import pytest
from django.core.management import CommandError, call_command

from portal.models import AuditEvent, Role, User
from tests.factories import DepartmentFactory, HallFactory

pytestmark = pytest.mark.django_db

ID_NUMBER = "220102199003071235"
CREDIT_CODE = "91220100MA0000001L"


@pytest.fixture
def department():
    return DepartmentFactory(code="CCSJ", name="长春市市场监督管理局")


@pytest.fixture
def hall():
    return HallFactory(code="CC-CITY", name="长春市政务服务中心")


def createuser(*args):
    call_command("createuser", *args)
    return User.objects.get(username=args[0])


@pytest.mark.parametrize(
    ("role", "extra", "department_code", "hall_code"),
    [
        ("applicant", [], None, None),
        ("clerk", ["--hall", "CC-CITY"], None, "CC-CITY"),
        ("reviewer", ["--department", "CCSJ"], "CCSJ", None),
        ("head", ["--department", "CCSJ"], "CCSJ", None),
        ("custodian", ["--hall", "CC-CITY"], None, "CC-CITY"),
        ("catalogue_admin", [], None, None),
        ("supervisor", [], None, None),
    ],
)
def test_every_role(department, hall, role, extra, department_code, hall_code):
    user = createuser("someone", "--password", "Strong-pass-2026", "--role", role, *extra)
    assert user.role == role
    assert user.check_password("Strong-pass-2026")
    assert (user.department.code if user.department else None) == department_code
    assert (user.hall.code if user.hall else None) == hall_code
    event = AuditEvent.objects.get(action="user_create", object_id=str(user.pk))
    assert event.payload == {"username": "someone", "role": role}


def test_real_name_and_id_number_are_stored_once_and_masked():
    user = createuser(
        "zhangwei", "--password", "Strong-pass-2026", "--role", "applicant",
        "--real-name", "张伟", "--id-number", ID_NUMBER,
    )
    assert (user.real_name, user.id_type, user.id_number) == ("张伟", "111", ID_NUMBER)
    assert user.id_masked == "220102********1235"
    with pytest.raises(CommandError, match="--id-number"):
        createuser("zhangwei2", "--password", "Strong-pass-2026", "--role", "applicant", "--id-number", ID_NUMBER)
    assert User.objects.filter(id_number=ID_NUMBER).count() == 1


def test_lower_case_x_check_digit_is_normalised():
    user = createuser(
        "lisi", "--password", "Strong-pass-2026", "--role", "applicant", "--id-number", "11010519491231002x"
    )
    assert user.id_number == "11010519491231002X"


def test_enterprise_agent_with_credit_code():
    user = createuser(
        "qiye", "--password", "Strong-pass-2026", "--role", "applicant",
        "--real-name", "长春某某餐饮有限公司", "--id-type", "001", "--id-number", CREDIT_CODE,
    )
    assert (user.id_type, user.id_number) == ("001", CREDIT_CODE)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "applicant", "--id-number", "220102199003071234"], "--id-number: 居民身份证号码校验位错误"),
        (["--role", "applicant", "--id-number", "22010219900307"], "--id-number: 居民身份证号码长度应为 18 位"),
        (["--role", "applicant", "--id-number", "220102199002301235"], "--id-number: 居民身份证号码"),
        (["--role", "applicant", "--id-type", "001", "--id-number", "91220100MA0000001K"], "--id-number: 统一社会信用代码校验位错误"),
        (["--role", "reviewer", "--department", "NOPE"], "--department: 部门 NOPE 不存在"),
        (["--role", "reviewer"], "--department: 审查人员必须指定所属部门"),
        (["--role", "head"], "--department: 部门负责人必须指定所属部门"),
        (["--role", "clerk"], "--hall: 综合窗口人员必须指定所在大厅"),
        (["--role", "clerk", "--hall", "NOPE"], "--hall: 大厅 NOPE 不存在"),
        (["--role", "king"], "--role: 未知角色：king"),
    ],
)
def test_errors_name_the_option_and_store_nothing(department, hall, args, message):
    events_before = AuditEvent.objects.count()
    with pytest.raises(CommandError) as error:
        createuser("newbie", "--password", "Strong-pass-2026", *args)
    assert message in str(error.value)
    assert not User.objects.filter(username="newbie").exists()
    assert AuditEvent.objects.count() == events_before


def test_weak_password_is_refused():
    with pytest.raises(CommandError, match="--password"):
        createuser("weak", "--password", "123", "--role", "applicant")
    assert not User.objects.filter(username="weak").exists()


@pytest.mark.parametrize("weak", ["aaaaaaaaa", "ababababab", "zzzzzzzzzzzzzzzz1", "Aa1Aa1Aa1Aa1"])
def test_a_password_of_few_distinct_characters_is_refused(weak):
    """Long enough for the length rule, guessed at once: at least four distinct characters (issue 14)."""
    with pytest.raises(CommandError) as error:
        createuser("repeat", "--password", weak, "--role", "applicant")
    assert "--password: 密码过于简单：至少应包含 4 个不同的字符" in str(error.value)
    assert not User.objects.filter(username="repeat").exists()
    assert createuser("repeat", "--password", "Abcd-2026-qz", "--role", "applicant").check_password("Abcd-2026-qz")


def test_duplicate_username_is_refused():
    createuser("twice", "--password", "Strong-pass-2026", "--role", "applicant")
    with pytest.raises(CommandError, match="NAME"):
        createuser("twice", "--password", "Strong-pass-2026", "--role", "supervisor")
    assert User.objects.get(username="twice").role == Role.APPLICANT


def test_missing_required_option_is_a_usage_error():
    with pytest.raises(CommandError, match="--role"):
        call_command("createuser", "norole", "--password", "Strong-pass-2026")
