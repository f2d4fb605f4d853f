"""Permissions in one place (DESIGN §5): the buttons a role's pages show for a case are exactly the case API's
`available_actions` for that user, as one case walks through every state, and what is not offered is refused."""

import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from applications import selectors, services
from applications.apis.cases import api_actions as api_action_names
from applications.models import Application, DeliveryMethod, State, SuspensionKind
from applications.permissions import allowed_actions
from tests.factories import ApplicationFactory, UserFactory
from tests.files import pdf_file

# The last path segment of a page's POST form (or its 撤回 button) → the API's action name.
SEGMENT_ACTIONS = {
    "submit": "submit", "resubmit": "resubmit", "withdraw": "withdraw", "deliver": "deliver", "rate": "rate",
    "accept": "accept", "notice": "request-materials", "refer": "refer", "return": "return", "decline": "decline",
    "claim": "claim", "suspend": "suspend", "resume": "resume", "approve": "approve", "reject": "reject",
    "extend": "extend", "issue": "issue",
}


class _Buttons(HTMLParser):
    """The actions a page offers on one case: POST forms whose target is that case's URL, and button links."""

    def __init__(self, number: str, page_url: str):
        super().__init__()
        self.number, self.page_url, self.found = number, page_url, set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self._add(attrs.get("action") or self.page_url)
        elif tag == "a" and "button" in (attrs.get("class") or "").split():
            self._add(attrs.get("href") or "")

    def _add(self, url: str):
        match = re.search(rf"/{re.escape(self.number)}/([a-z-]+)/$", url)
        if match and match.group(1) in SEGMENT_ACTIONS:
            self.found.add(SEGMENT_ACTIONS[match.group(1)])


def page_buttons(user, number: str) -> set[str]:
    """Every action button the user's own pages show for the case."""
    pages = {
        "applicant": [f"/my/cases/{number}/", f"/my/cases/{number}/rate/"],
        "clerk": [f"/window/cases/{number}/"],
        "reviewer": [f"/review/cases/{number}/"],
        "head": [f"/review/cases/{number}/", "/dept/referrals/"],
        "custodian": ["/center/issuance/"],
        "supervisor": [f"/review/cases/{number}/"],
    }[user.role]
    client = Client()
    client.force_login(user)
    found = set()
    for url in pages:
        response = client.get(url)
        if response.status_code == 200:
            parser = _Buttons(number, url)
            parser.feed(response.content.decode())
            found |= parser.found
    return found


def api_actions(login_api, user, number: str) -> set[str] | None:
    response = login_api(user).get(f"/api/v1/applications/{number}/")
    if response.status_code == 404:
        return None
    assert response.status_code == 200
    return set(response.json()["available_actions"])


@pytest.fixture
def people(citizen, clerk, reviewer, head, custodian, item):
    return {
        "citizen": citizen,
        "stranger": UserFactory(identified=True),
        "clerk": clerk,
        "reviewer": reviewer,
        "reviewer2": UserFactory(reviewer=True, department=item.department),
        "head": head,
        "other_head": UserFactory(head=True),
        "custodian": custodian,
        "supervisor": UserFactory(supervisor=True),
    }


def test_every_roles_buttons_are_the_apis_available_actions_in_every_state(login_api, people, item, seal):
    citizen, clerk, reviewer, head = people["citizen"], people["clerk"], people["reviewer"], people["head"]
    case = ApplicationFactory(item=item, applicant=citizen)
    number = case.number
    expected = {}  # what some roles must have at each step (the rest is checked page == API)

    def check(step: str):
        case = Application.objects.get(number=number)
        for name, user in people.items():
            api = api_actions(login_api, user, number)
            buttons = page_buttons(user, number)
            if api is None:
                assert buttons == set(), (step, name, buttons)
                continue
            assert buttons == api, (step, name, "page", buttons, "api", api)
            assert api == set(api_action_names(allowed_actions(user, case))), (step, name)
            if (step, name) in expected:
                assert api == expected[(step, name)], (step, name, api)

    def move(call):
        call()
        case.refresh_from_db()

    expected.update({("draft", "citizen"): {"submit", "withdraw"}, ("draft", "clerk"): set()})
    check("draft")

    for requirement in selectors.missing_requirements(case):
        services.application_material_upload(actor=citizen, application=case, requirement_id=requirement.pk, upload=pdf_file())
    move(lambda: services.application_submit(actor=citizen, application=case))
    expected.update({("submitted", "clerk"): {"accept", "request-materials", "refer"},
                     ("submitted", "citizen"): {"withdraw"}, ("submitted", "head"): set()})
    check("submitted")

    requirement = case.item_version.materials.filter(required=True).first()
    move(lambda: services.application_request_materials(
        actor=clerk, application=case, deficiencies=[{"requirement": requirement.pk, "reason": "复印件不清晰"}]))
    expected.update({("pending", "citizen"): {"resubmit", "withdraw"}, ("pending", "clerk"): {"resubmit"}})
    check("pending")

    services.application_material_upload(actor=citizen, application=case, requirement_id=requirement.pk, upload=pdf_file())
    move(lambda: services.application_resubmit(actor=citizen, application=case))
    move(lambda: services.application_refer(actor=clerk, application=case, reason="经营范围是否需前置审批存疑"))
    expected.update({("referred", "head"): {"return", "decline"}, ("referred", "other_head"): set(),
                     ("referred", "clerk"): set(), ("referred", "reviewer"): set()})
    check("referred")

    move(lambda: services.application_return(actor=head, application=case, reason="属于本部门受理范围"))
    move(lambda: services.application_accept(actor=clerk, application=case))
    expected.update({("accepted", "reviewer"): {"claim"}, ("accepted", "head"): {"claim", "extend"},
                     ("accepted", "citizen"): {"withdraw", "rate"}})  # 一次一评: the intake stage may be rated
    check("accepted")

    move(lambda: services.application_claim(actor=reviewer, application=case))
    expected.update({("in_review", "reviewer"): {"suspend", "approve", "reject"},
                     ("in_review", "head"): {"suspend", "approve", "reject", "extend"},
                     ("in_review", "reviewer2"): set()})  # claimed by another reviewer
    check("in_review")

    move(lambda: services.application_suspend(actor=reviewer, application=case, kind=SuspensionKind.EXPERT_REVIEW,
                                              reason="需专家评审"))
    expected.update({("suspended", "reviewer"): {"resume"}, ("suspended", "head"): {"resume"}})
    check("suspended")

    move(lambda: services.application_resume(actor=reviewer, application=case))
    move(lambda: services.application_approve(actor=reviewer, application=case, opinion="符合条件"))
    expected.update({("approved", "custodian"): {"issue"}, ("approved", "reviewer"): set(),
                     ("approved", "citizen"): {"rate"}})
    check("approved")

    ApplicationFactory.advance(case, to=State.ISSUED, custodian=people["custodian"])
    expected.update({("issued", "citizen"): {"deliver", "rate"}, ("issued", "clerk"): {"deliver"},
                     ("issued", "custodian"): set()})
    check("issued")

    move(lambda: services.application_rate(actor=citizen, application=case, score=1))
    expected.update({("rated", "citizen"): {"deliver", "rate"}})  # the issuance stage; intake still open
    check("rated")
    move(lambda: services.application_rate(actor=citizen, application=case, score=2, stage="intake"))
    expected.update({("both rated", "citizen"): {"deliver"}})
    check("both rated")

    client = Client()
    client.force_login(citizen)
    client.post(f"/my/cases/{number}/deliver/")  # the page's 确认已收到 button
    case.refresh_from_db()
    assert case.state == State.DELIVERED and case.delivery_method == DeliveryMethod.DOWNLOAD and case.visits == 0
    expected.update({(("delivered", name)): set() for name in people})
    check("delivered")


@pytest.mark.parametrize("action", ["accept", "request-materials", "refer", "claim", "approve", "withdraw", "submit"])
def test_what_is_not_offered_is_refused(login_api, people, submitted, action):
    """Every action missing from a user's available_actions is refused by the API, and nothing changes."""
    payloads = {"request-materials": {"deficiencies": [{"requirement": 1, "reason": "x"}]}, "refer": {"reason": "x"},
                "approve": {"opinion": "x"}}
    for name, user in people.items():
        offered = api_actions(login_api, user, submitted)
        if offered is None or action in offered:
            continue
        before = Application.objects.get(number=submitted).state
        response = login_api(user).post(f"/api/v1/applications/{submitted}/{action}/", payloads.get(action, {}),
                                        format="json")
        assert response.status_code in (403, 404, 409), (name, action, response.status_code)
        assert Application.objects.get(number=submitted).state == before
