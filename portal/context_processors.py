"""The navigation bar: what each role works on. Entries whose page is not installed are left out."""

from django.urls import NoReverseMatch, reverse

from portal.models import Notification, Role

# 适老化 (portal.views.text_size): the reader's choice of larger text, kept in this cookie.
TEXT_SIZE_COOKIE = "text_size"

PUBLIC_LINKS = [("办事指南", "items:guide"), ("办件查询", "public:query"), ("证照核验", "certificates:verify")]
ROLE_LINKS = {
    Role.APPLICANT: [("我的办件", "applications:mine"), ("我的证照", "certificates:wallet"), ("预约办事", "applications:appointments"),
                     ("我的单位", "organisations:mine"), ("我的投诉", "applications:my-complaints")],
    Role.CLERK: [("叫号", "applications:queue"), ("预审", "applications:prereview"), ("窗口受理", "applications:intake"),
                 ("领取送达", "applications:pickup"), ("单位登记", "organisations:mine")],
    Role.REVIEWER: [("待审工作台", "applications:worklist"), ("投诉处理", "applications:complaints")],
    Role.HEAD: [
        ("待审工作台", "applications:worklist"), ("部门事务", "applications:head"), ("本部门证照", "certificates:department"),
        ("差评整改", "applications:rectifications"), ("投诉处理", "applications:complaints"),
    ],
    Role.CUSTODIAN: [("签发队列", "seals:queue"), ("用印记录", "seals:log")],
    Role.CATALOGUE_ADMIN: [("事项管理", "admin:index")],
    Role.SUPERVISOR: [("统计分析", "applications:stats"), ("差评整改", "applications:rectifications"), ("投诉处理", "applications:complaints"),
                         ("用印记录", "seals:log")],
}


def _resolve(links):
    resolved = []
    for label, name in links:
        try:
            resolved.append((label, reverse(name)))
        except NoReverseMatch:
            continue
    return resolved


def navigation(request):
    user = getattr(request, "user", None)
    links = list(PUBLIC_LINKS)
    unread = 0
    if user is not None and user.is_authenticated:
        links += ROLE_LINKS.get(user.role, [])
        unread = Notification.objects.filter(user=user, read_at__isnull=True).count()
        if user.is_superuser and ("事项管理", "admin:index") not in links:
            links.append(("系统管理", "admin:index"))
    return {"nav_links": _resolve(links), "unread_notifications": unread,
            "large_text": request.COOKIES.get(TEXT_SIZE_COOKIE) == "large"}
