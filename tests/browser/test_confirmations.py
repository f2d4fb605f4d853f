"""Irreversible forms ask first (static/js/forms.js `data-confirm`, decision 058): declining the dialog
sends nothing and the case stays as it was; accepting it lets the form go. The conftest accepts every other
test's dialogs; this one answers on the page."""

import pytest

from applications import selectors, services
from applications.models import Application, State
from tests.browser.conftest import log_in
from tests.factories import ApplicationFactory, UserFactory
from tests.files import pdf_file

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_declining_the_submit_confirmation_leaves_the_draft(page):
    citizen = UserFactory(identified=True, username="zhangwei", real_name="张伟")
    case = ApplicationFactory(applicant=citizen)
    for requirement in selectors.missing_requirements(case):
        services.application_material_upload(actor=citizen, application=case, requirement_id=requirement.pk,
                                             upload=pdf_file())
    log_in(page, "zhangwei")
    page.goto(f"/my/cases/{case.number}/")
    submit = page.get_by_role("button", name="提交", exact=True)

    asked = []

    def decline(dialog):
        asked.append((dialog.type, dialog.message))
        dialog.dismiss()

    page.once("dialog", decline)
    submit.click()
    page.wait_for_timeout(500)
    assert asked and asked[0][0] == "confirm" and "提交后申请进入窗口预审" in asked[0][1]
    assert page.url.endswith(f"/my/cases/{case.number}/")
    stored = Application.objects.get(pk=case.pk)
    assert (stored.state, stored.submitted_at) == (State.DRAFT, None)

    # Accepted (the conftest's answer): the form goes and the case is submitted.
    with page.expect_navigation():
        submit.click()
    assert "已提交" in page.get_by_role("main").inner_text()
    assert Application.objects.get(pk=case.pk).state == State.SUBMITTED
