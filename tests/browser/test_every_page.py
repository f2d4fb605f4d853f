"""Every page of every role, at phone and desk width, checked by axe-core (issue 18, GB/T 37668 / WCAG 2.1 AA).

The demo (as `make run` loads it) plus one case in each state the pages show: a draft, a submitted case at the
window, a case in review, an approved case waiting at the center, an issued one with its certificate. Each role
signs in once per width and opens its pages; a page must answer 200 and axe must find nothing. The pages are
listed here, by role, so that a new page joins the list (and the check) on purpose.
"""

import pytest
from django.core.management import call_command

from applications.models import State
from applications.services import application_material_upload
from certificates.models import Certificate
from items.models import ItemVersion, VersionStatus
from portal.demo import DEMO_PASSWORD
from portal.models import Hall, User
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import ARTIFACTS, log_in, off_the_loop
from tests.factories import ApplicationFactory, pdf_file

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = ARTIFACTS / "every-page"  # one full-page screenshot per page and width, to look at
WIDTHS = {"phone": {"width": 390, "height": 844}, "desk": {"width": 1280, "height": 800}}
ITEM_NAME = "食品经营许可（新办）"
FACE = {"住所": "长春市朝阳区人民大街 1 号", "主体业态": "餐饮服务经营者", "经营项目": "热食类食品制售"}
ORGANISATION = "91220101MA00000013"  # the demo's 长春味道餐饮有限公司, whose agent files the cases


@pytest.fixture
def cases(db):
    """The demo, and the case numbers the pages need, keyed by state."""
    call_command("loaddemo", verbosity=0)
    item = ItemVersion.objects.get(name=ITEM_NAME, status=VersionStatus.PUBLISHED).item
    agent, clerk, reviewer, custodian = (User.objects.get(username=name) for name in ("agent", "clerk", "reviewer", "custodian"))

    def case(to):
        draft = ApplicationFactory(item=item, applicant=agent, organisation=ORGANISATION)
        for requirement in item.current_version.materials.all():  # the deferrable ones too: no 容缺 here
            application_material_upload(actor=agent, application=draft, requirement_id=requirement.pk, upload=pdf_file())
        return ApplicationFactory.advance(draft, to=to, clerk=clerk, reviewer=reviewer, custodian=custodian,
                                          face_data=FACE).number

    numbers = {state: off_the_loop(case, state) for state in (State.DRAFT, State.SUBMITTED, State.IN_REVIEW, State.APPROVED, State.ISSUED)}
    numbers["item"] = item.code
    numbers["hall"] = Hall.objects.order_by("code").first().code
    numbers["certificate"] = Certificate.objects.get(application_number=numbers[State.ISSUED]).identifier
    return numbers


def pages_by_role(n: dict) -> dict[str | None, list[str]]:
    """Role (demo login, None for the public) → the pages that role uses."""
    return {
        None: [
            "/", "/guide/", f"/guide/{n['item']}/", f"/guide/{n['item']}/history/", "/guide/bundles/", "/query/",
            "/verify/", f"/verify/{n['certificate']}/", "/ratings/", "/accounts/login/", "/accounts/register/",
            "/accounts/login/sms/", "/accounts/reset/", f"/halls/{n['hall']}/screen/", f"/halls/{n['hall']}/ticket/",
            f"/halls/{n['hall']}/rate/?window=1", "/complaints/new/",
        ],
        "citizen": ["/", "/my/cases/", "/my/certificates/", "/inbox/", "/appointments/", "/organisations/"],
        "agent": [
            "/my/cases/", f"/my/cases/{n[State.DRAFT]}/", f"/my/cases/{n[State.SUBMITTED]}/",
            f"/my/cases/{n[State.ISSUED]}/", f"/my/cases/{n[State.ISSUED]}/rate/", f"/apply/{n['item']}/",
            "/my/certificates/", "/inbox/", "/organisations/", f"/organisations/{ORGANISATION}/",
            f"/my/cases/{n[State.SUBMITTED]}/complaint/", "/my/complaints/",
        ],
        "clerk": [
            "/window/prereview/", "/window/intake/", f"/window/cases/{n[State.SUBMITTED]}/",
            f"/window/cases/{n[State.ISSUED]}/", "/window/pickup/", "/window/queue/", "/window/hall/",
        ],
        "reviewer": [
            "/review/", f"/review/cases/{n[State.IN_REVIEW]}/", f"/review/cases/{n[State.APPROVED]}/",
            "/review/commitments/", "/review/complaints/",
        ],
        "head": ["/review/", "/dept/referrals/", "/dept/overdue/", "/dept/certificates/", "/supervision/stats/"],
        "custodian": ["/center/issuance/", "/center/seal-log/"],
        "supervisor": ["/supervision/rectifications/", "/supervision/stats/", "/ratings/", "/review/complaints/"],
    }


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_of_every_role_passes_axe(chromium, live_server, cases, width):
    checked = []
    SHOTS.mkdir(parents=True, exist_ok=True)
    for role, paths in pages_by_role(cases).items():
        context = chromium.new_context(base_url=live_server.url, locale="zh-CN", viewport=WIDTHS[width])
        page = context.new_page()
        page.set_default_timeout(15000)
        try:
            if role:
                log_in(page, role, DEMO_PASSWORD)
            for path in paths:
                response = page.goto(path)
                assert response.status == 200, f"{role or '公众'} {path}: {response.status}"
                assert_accessible(page)
                slug = path.strip("/").replace("/", "_").replace("?", "_") or "home"
                page.screenshot(path=str(SHOTS / f"{width}-{role or 'public'}-{slug}.png"), full_page=True)
                checked.append((role, path))
        finally:
            context.close()
    assert len(checked) == sum(len(paths) for paths in pages_by_role(cases).values())
