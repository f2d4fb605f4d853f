"""Demo departments, halls and one account per role (loaded by `manage.py loaddemo`)."""

from stdnum.cn import uscc

from portal.models import AdminLevel, Department, Hall, Role, User
from portal.services import user_create

DEMO_PASSWORD = "Demo@2026!"

# (code, name, level, parent code, hotline); credit codes are derived with their real check character.
DEPARTMENTS = [
    ("CCSJ", "长春市市场监督管理局", AdminLevel.CITY, None, "0431-88771234"),
    ("CCGJJ", "长春住房公积金管理中心", AdminLevel.CITY, None, "0431-12329"),
    ("CCYB", "长春市医疗保障局", AdminLevel.CITY, None, "0431-88886655"),
    ("CCMZ", "长春市民政局", AdminLevel.CITY, None, "0431-88775566"),
    ("CCWJ", "长春市卫生健康委员会", AdminLevel.CITY, None, "0431-88912320"),
    ("CCGA", "长春市公安局", AdminLevel.CITY, None, "0431-88908110"),
    ("CCJT", "长春市交通运输局", AdminLevel.CITY, None, "0431-88661234"),
    ("CCZR", "长春市自然资源局", AdminLevel.CITY, None, "0431-88773300"),
    ("CCRS", "长春市人力资源和社会保障局", AdminLevel.CITY, None, "0431-12333"),
    ("CCSW", "长春市税务局", AdminLevel.CITY, None, "0431-12366"),
    ("NGSJ", "长春市南关区市场监督管理局", AdminLevel.COUNTY, "CCSJ", "0431-88702233"),
    ("NGMZ", "长春市南关区民政局", AdminLevel.COUNTY, "CCMZ", "0431-88703344"),
    ("CYRS", "长春市朝阳区人力资源和社会保障局", AdminLevel.COUNTY, "CCRS", "0431-85101234"),
    ("NLJD", "长春市南关区南岭街道办事处", AdminLevel.TOWNSHIP, None, "0431-85601122"),
    ("HQJD", "长春市朝阳区红旗街道办事处", AdminLevel.TOWNSHIP, None, "0431-85952211"),
]

HALLS = [
    ("CC-CITY", "长春市政务服务中心", AdminLevel.CITY, 48, "长春市南关区人民大街 9999 号"),
    ("CC-NG", "南关区政务服务中心", AdminLevel.COUNTY, 20, "长春市南关区大经路 100 号"),
    ("CC-NL", "南岭街道便民服务中心", AdminLevel.TOWNSHIP, 4, "长春市南关区南岭大街 18 号"),
]

# username, role, real name, ID number, department, hall
USERS = [
    ("citizen", Role.APPLICANT, "张伟", "220102199003071235", "", ""),
    ("citizen2", Role.APPLICANT, "李秀英", "220102198511204562", "", ""),
    # 长春味道餐饮有限公司 (organisations/demo.py): its legal representative and two agents.
    ("legalrep", Role.APPLICANT, "王建国", "220102199605123418", "", ""),
    ("agent", Role.APPLICANT, "陈晨", "220104198808231222", "", ""),
    ("agent2", Role.APPLICANT, "赵磊", "220103199501014432", "", ""),
    ("clerk", Role.CLERK, "李娜", "220104199206157891", "", "CC-CITY"),
    ("clerk2", Role.CLERK, "周杰", "", "", "CC-CITY"),
    ("reviewer", Role.REVIEWER, "王芳", "", "CCSJ", ""),
    ("head", Role.HEAD, "刘洋", "", "CCSJ", ""),
    ("reviewer_gjj", Role.REVIEWER, "吴磊", "", "CCGJJ", ""),
    ("custodian", Role.CUSTODIAN, "陈静", "", "", "CC-CITY"),
    ("catalog", Role.CATALOGUE_ADMIN, "赵敏", "", "", ""),
    ("supervisor", Role.SUPERVISOR, "孙强", "", "", ""),
]


def demo_credit_code(index: int) -> str:
    body = f"11220100MB{index:07d}"
    return body + uscc.calc_check_digit(body)


def load() -> list[str]:
    for index, (code, name, level, parent, hotline) in enumerate(DEPARTMENTS, start=1):
        Department.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "level": level,
                "parent": Department.objects.get(code=parent) if parent else None,
                "hotline": hotline,
                "credit_code": demo_credit_code(index),
            },
        )
    for code, name, level, windows, address in HALLS:
        Hall.objects.update_or_create(
            code=code, defaults={"name": name, "level": level, "windows": windows, "address": address}
        )
    for username, role, real_name, id_number, department, hall in USERS:
        if not User.objects.filter(username=username).exists():
            user_create(
                username=username,
                password=DEMO_PASSWORD,
                role=role,
                real_name=real_name,
                id_number=id_number,
                department_code=department,
                hall_code=hall,
            )
    User.objects.filter(username="catalog").update(is_staff=True)
    if not User.objects.filter(username="admin").exists():
        User.objects.create_superuser("admin", "admin@zwfw.example.cn", DEMO_PASSWORD, real_name="系统管理员")
    return [f"{username:<13} {Role(role).label}" for username, role, *_ in USERS] + ["admin         系统管理员"]
