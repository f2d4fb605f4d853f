"""Intake (DESIGN §5): create, upload, submit, one-time notice, resubmit, accept, refer, return, decline, withdraw."""

from datetime import date

import pytest
import time_machine

from applications.models import Application, Deficiency, Document, Material, Notice, State
from portal.models import AuditEvent
from tests.assertions import unchanged
from tests.factories import UserFactory
from tests.files import pdf_file, upload

pytestmark = pytest.mark.django_db


def state_of(number):
    return Application.objects.get(number=number).state


def test_citizen_creates_an_online_draft(as_user, citizen, item):
    response = as_user(citizen).post("/api/v1/applications/", {"item": item.code, "form_data": {"a": 1}}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["state"] == "draft" and body["channel"] == "online"
    assert body["number"].startswith("NET-") and len(body["number"]) == len("NET-20261124-000001")
    assert body["item"] == {"code": item.code, "name": "食品经营许可（新办）", "version": 1}
    assert body["applicant"]["id_masked"] == citizen.id_masked
    case = Application.objects.get(number=body["number"])
    assert case.item_version == item.current_version and case.applicant == citizen


def test_numbers_are_sequential_per_prefix_and_day(as_user, citizen, item):
    with time_machine.travel("2026-11-24 10:00 +0800"):
        first = as_user(citizen).post("/api/v1/applications/", {"item": item.code}, format="json").json()["number"]
        second = as_user(citizen).post("/api/v1/applications/", {"item": item.code}, format="json").json()["number"]
    assert (first, second) == ("NET-20261124-000001", "NET-20261124-000002")


def test_unverified_citizen_cannot_apply(as_user, item):
    response = as_user(UserFactory()).post("/api/v1/applications/", {"item": item.code}, format="json")
    assert response.status_code == 400 and "applicant" in response.json()
    assert not Application.objects.exists()


def test_unknown_item_names_the_field(as_user, citizen):
    response = as_user(citizen).post("/api/v1/applications/", {"item": "NOPE"}, format="json")
    assert response.status_code == 400 and "item" in response.json()


def test_clerk_registers_a_walk_in_and_accepts_at_once(as_user, clerk, item, requirements):
    client = as_user(clerk)
    response = client.post("/api/v1/applications/", {
        "item": item.code, "applicant": {"name": "王小明", "id_type": "111", "id_number": "220102199003071235"},
    }, format="json")
    assert response.status_code == 201, response.content
    number = response.json()["number"]
    assert number.startswith("CC-CITY-")
    for name in ("食品经营许可申请书", "营业执照"):
        assert upload(client, number, requirements[name]).status_code == 201
    with time_machine.travel("2026-09-30 10:00 +0800"):
        response = client.post(f"/api/v1/applications/{number}/accept/")
    assert response.status_code == 200, response.content
    body = response.json()
    # DESIGN's example: accepted 2026-09-30, 5 working days → 10-08, 09, 10 (Sat, make-up), 12, 13.
    assert body["state"] == "accepted" and body["due_date"] == "2026-10-13" and body["visits"] == 1
    case = Application.objects.get(number=number)
    assert case.accepted_by == clerk and case.applicant.real_name == "王小明" and case.applicant.has_usable_password() is False
    assert [d["kind"] for d in body["documents"]] == ["receipt", "acceptance_notice"]  # handed in and accepted at once
    document = Document.objects.get(application=case, kind="acceptance_notice")
    assert document.context["due_date"] == "2026-10-13"
    # Optional and not handed in: not on the notice (a required 容缺 one is: tests/applications/test_deferral.py).
    assert "食品安全管理制度" not in {m["name"] for m in document.context["materials"]}


def test_a_clerk_cannot_register_a_walk_in_with_their_own_id_number(as_user, hall, item):
    """A clerk applying for themselves would accept their own case: another window must (issue 14)."""
    clerk = UserFactory(clerk=True, hall=hall, real_name="李娜", id_type="111", id_number="220102199003071235")
    events = AuditEvent.objects.count()
    response = as_user(clerk).post("/api/v1/applications/", {
        "item": item.code, "applicant": {"name": "李娜", "id_type": "111", "id_number": "220102199003071235"},
    }, format="json")
    assert response.status_code == 400
    assert "证件号码" in str(response.json()["applicant"]) and "本人" in str(response.json()["applicant"])
    assert not Application.objects.exists() and AuditEvent.objects.count() == events
    # A colleague at the next window may register the same person.
    colleague = UserFactory(clerk=True, hall=hall, real_name="周杰")
    response = as_user(colleague).post("/api/v1/applications/", {
        "item": item.code, "applicant": {"name": "李娜", "id_type": "111", "id_number": "220102199003071235"},
    }, format="json")
    assert response.status_code == 201 and Application.objects.get().applicant == clerk


def test_walk_in_with_invalid_id_names_the_field(as_user, clerk, item):
    response = as_user(clerk).post("/api/v1/applications/", {
        "item": item.code, "applicant": {"name": "王小明", "id_type": "111", "id_number": "220102199003071234"},
    }, format="json")
    assert response.status_code == 400
    assert "校验位" in str(response.json()["applicant"])
    assert not Application.objects.exists()


def test_submit_needs_every_required_material(as_user, citizen, draft, requirements):
    client = as_user(citizen)
    upload(client, draft, requirements["食品经营许可申请书"])
    with unchanged(draft):
        response = client.post(f"/api/v1/applications/{draft}/submit/")
    assert response.status_code == 409
    assert response.json()["code"] == "materials_incomplete" and "营业执照" in response.json()["detail"]
    assert state_of(draft) == State.DRAFT


def test_submit_then_accept(as_user, citizen, clerk, submitted):
    assert state_of(submitted) == State.SUBMITTED
    response = as_user(clerk).post(f"/api/v1/applications/{submitted}/accept/")
    assert response.status_code == 200 and response.json()["state"] == "accepted"
    case = Application.objects.get(number=submitted)
    assert case.visits == 0  # online: zero visits
    assert case.hall == clerk.hall
    actions = list(AuditEvent.objects.filter(object_id=submitted).values_list("action", flat=True))
    assert actions[0] == "application_create" and actions[-1] == "application_accept"


def test_second_click_on_accept_is_409_and_changes_nothing(as_user, clerk, submitted):
    client = as_user(clerk)
    assert client.post(f"/api/v1/applications/{submitted}/accept/").status_code == 200
    before = Application.objects.get(number=submitted)
    events = AuditEvent.objects.count()
    with unchanged(submitted):
        response = client.post(f"/api/v1/applications/{submitted}/accept/")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"
    after = Application.objects.get(number=submitted)
    assert (after.state, after.accepted_at, after.due_date) == (before.state, before.accepted_at, before.due_date)
    assert AuditEvent.objects.count() == events
    assert Document.objects.filter(application=after, kind="acceptance_notice").count() == 1


@pytest.mark.parametrize("action", ["resubmit", "return", "claim", "withdraw-twice"])
def test_transitions_not_in_the_table_are_409(as_user, citizen, clerk, head, submitted, action):
    if action == "withdraw-twice":
        assert as_user(citizen).post(f"/api/v1/applications/{submitted}/withdraw/").status_code == 200
    with unchanged(submitted):
        if action == "resubmit":
            response = as_user(citizen).post(f"/api/v1/applications/{submitted}/resubmit/")
        elif action == "return":
            response = as_user(head).post(f"/api/v1/applications/{submitted}/return/", {"reason": "x"}, format="json")
        elif action == "claim":
            response = as_user(clerk).post(f"/api/v1/applications/{submitted}/decline/", {"reason": "x", "legal_basis": "y"}, format="json")
        else:
            response = as_user(citizen).post(f"/api/v1/applications/{submitted}/withdraw/")
    if action == "claim":
        assert response.status_code == 403
        return
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


class TestOneTimeNotice:
    def notice(self, client, number, *deficiencies):
        return client.post(f"/api/v1/applications/{number}/request-materials/", {
            "deficiencies": [{"requirement": r, "reason": reason} for r, reason in deficiencies],
        }, format="json")

    def test_notice_lists_every_deficiency_and_produces_a_document(self, as_user, clerk, submitted, requirements):
        response = self.notice(as_user(clerk), submitted,
                               (requirements["营业执照"], "复印件不清晰"), (requirements["场所平面图"], "缺少比例尺"))
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["state"] == "pending_materials"
        assert [d["name"] for d in body["notices"][0]["deficiencies"]] == ["营业执照", "场所平面图"]
        document = Document.objects.get(application__number=submitted, kind="materials_notice")
        assert [d["requirement"] for d in document.context["deficiencies"]] == ["营业执照", "场所平面图"]

    def test_empty_or_foreign_deficiencies_are_400(self, as_user, clerk, submitted):
        client = as_user(clerk)
        with unchanged(submitted):
            assert self.notice(client, submitted).status_code == 400
            response = self.notice(client, submitted, (999999, "x"))
        assert response.status_code == 400 and "deficiencies" in response.json()
        assert state_of(submitted) == State.SUBMITTED and not Notice.objects.exists()

    def test_only_noticed_requirements_may_change_and_nothing_is_deleted(self, as_user, citizen, clerk, submitted, requirements):
        self.notice(as_user(clerk), submitted, (requirements["营业执照"], "复印件不清晰"))
        client = as_user(citizen)
        with unchanged(submitted):
            refused = upload(client, submitted, requirements["食品经营许可申请书"])
        assert refused.status_code == 409 and refused.json()["code"] == "not_noticed"
        assert upload(client, submitted, requirements["营业执照"], pdf_file("营业执照-清晰.pdf")).status_code == 201
        files = Material.objects.filter(application__number=submitted, requirement_id=requirements["营业执照"]).order_by("version")
        assert [(m.version, m.original_name) for m in files] == [(1, "申请书.pdf"), (2, "营业执照-清晰.pdf")]
        assert all(m.file.storage.exists(m.file.name) for m in files)
        response = client.post(f"/api/v1/applications/{submitted}/resubmit/")
        assert response.status_code == 200 and response.json()["state"] == "submitted"

    def test_resubmit_without_supplying_is_refused(self, as_user, citizen, clerk, submitted, requirements):
        self.notice(as_user(clerk), submitted, (requirements["营业执照"], "复印件不清晰"))
        with unchanged(submitted):
            response = as_user(citizen).post(f"/api/v1/applications/{submitted}/resubmit/")
        assert response.status_code == 409 and "营业执照" in response.json()["detail"]
        assert state_of(submitted) == State.PENDING_MATERIALS

    def test_a_second_notice_may_not_name_anything_new(self, as_user, citizen, clerk, submitted, requirements):
        self.notice(as_user(clerk), submitted, (requirements["营业执照"], "复印件不清晰"))
        client = as_user(citizen)
        upload(client, submitted, requirements["营业执照"])
        client.post(f"/api/v1/applications/{submitted}/resubmit/")
        with unchanged(submitted):
            response = self.notice(as_user(clerk), submitted, (requirements["食品经营许可申请书"], "未签字"))
        assert response.status_code == 400
        assert "首次告知未列出「食品经营许可申请书」" in str(response.json()["deficiencies"])
        assert state_of(submitted) == State.SUBMITTED and Notice.objects.count() == 1
        # Naming again what the first notice named is allowed.
        response = self.notice(as_user(clerk), submitted, (requirements["营业执照"], "仍不清晰"))
        assert response.status_code == 200 and Notice.objects.count() == 2
        assert Deficiency.objects.filter(notice__sequence=2).count() == 1


class TestReferral:
    def test_window_has_no_veto_only_referral(self, as_user, clerk, head, submitted):
        client = as_user(clerk)
        with unchanged(submitted):
            assert client.post(f"/api/v1/applications/{submitted}/decline/", {"reason": "x", "legal_basis": "y"}, format="json").status_code == 403
            assert client.post(f"/api/v1/applications/{submitted}/refer/", {"reason": ""}, format="json").status_code == 400
        response = client.post(f"/api/v1/applications/{submitted}/refer/", {"reason": "经营场所性质存疑"}, format="json")
        assert response.status_code == 200 and response.json()["state"] == "referred"

    def test_head_returns_to_the_window(self, as_user, clerk, head, submitted):
        as_user(clerk).post(f"/api/v1/applications/{submitted}/refer/", {"reason": "存疑"}, format="json")
        response = as_user(head).post(f"/api/v1/applications/{submitted}/return/", {"reason": "符合条件，请受理"}, format="json")
        assert response.status_code == 200 and response.json()["state"] == "submitted"

    def test_head_declines_with_reason_and_legal_basis(self, as_user, clerk, head, submitted):
        as_user(clerk).post(f"/api/v1/applications/{submitted}/refer/", {"reason": "存疑"}, format="json")
        client = as_user(head)
        with unchanged(submitted):
            missing = client.post(f"/api/v1/applications/{submitted}/decline/", {"reason": "不属于本机关职权", "legal_basis": ""}, format="json")
        assert missing.status_code == 400 and "legal_basis" in missing.json()
        response = client.post(f"/api/v1/applications/{submitted}/decline/", {
            "reason": "申请事项依法不需要取得行政许可", "legal_basis": "《中华人民共和国行政许可法》第三十二条第一款第（一）项",
        }, format="json")
        assert response.status_code == 200 and response.json()["state"] == "not_accepted"
        document = Document.objects.get(application__number=submitted, kind="refusal_notice")
        assert document.context["legal_basis"].startswith("《中华人民共和国行政许可法》")

    def test_head_of_another_department_sees_nothing(self, as_user, clerk, submitted):
        as_user(clerk).post(f"/api/v1/applications/{submitted}/refer/", {"reason": "存疑"}, format="json")
        stranger = UserFactory(head=True)
        with unchanged(submitted):
            assert as_user(stranger).post(f"/api/v1/applications/{submitted}/decline/", {"reason": "x", "legal_basis": "y"}, format="json").status_code == 404


def test_applicant_withdraws(as_user, citizen, submitted):
    response = as_user(citizen).post(f"/api/v1/applications/{submitted}/withdraw/")
    assert response.status_code == 200 and response.json()["state"] == "withdrawn"


class TestDeemedAcceptance:
    def test_five_working_days_then_deemed_accepted_from_submission_day(self, as_user, citizen, draft, requirements):
        from applications.services import application_deem_accept_sweep

        client = as_user(citizen)
        for name in ("食品经营许可申请书", "营业执照"):
            upload(client, draft, requirements[name])
        with time_machine.travel("2026-09-28 09:00 +0800"):  # Monday
            client.post(f"/api/v1/applications/{draft}/submit/")
        # Five working days after 09-28: 29, 30, 10-08, 09, 10 (make-up Saturday). 10-10 is still in time.
        assert application_deem_accept_sweep(today=date(2026, 10, 10)) == 0
        assert state_of(draft) == State.SUBMITTED
        assert application_deem_accept_sweep(today=date(2026, 10, 11)) == 1
        case = Application.objects.get(number=draft)
        assert case.state == State.ACCEPTED and case.deemed_accepted
        assert case.accepted_at == case.submitted_at
        # 5 promised working days from the submission day 09-28: 29, 30, 10-08, 09, 10.
        assert case.due_date == date(2026, 10, 10)
        assert application_deem_accept_sweep(today=date(2026, 10, 12)) == 0  # idempotent
        assert AuditEvent.objects.filter(object_id=draft, action="application_deem_accept", role="system").count() == 1

    def test_noticed_cases_are_not_deemed(self, as_user, clerk, submitted, requirements):
        from applications.services import application_deem_accept_sweep

        as_user(clerk).post(f"/api/v1/applications/{submitted}/request-materials/", {
            "deficiencies": [{"requirement": requirements["营业执照"], "reason": "不清晰"}]}, format="json")
        assert application_deem_accept_sweep(today=date(2027, 6, 1)) == 0
        assert state_of(submitted) == State.PENDING_MATERIALS


def test_run_timers_deems_acceptance(as_user, citizen, draft, requirements, capsys):
    from django.core.management import call_command

    client = as_user(citizen)
    for name in ("食品经营许可申请书", "营业执照"):
        upload(client, draft, requirements[name])
    with time_machine.travel("2026-11-02 09:00 +0800"):
        client.post(f"/api/v1/applications/{draft}/submit/")
    with time_machine.travel("2026-11-24 09:00 +0800"):
        call_command("run_timers")
        call_command("run_timers")
    assert "deemed-acceptance: 1" in capsys.readouterr().out
    assert state_of(draft) == State.ACCEPTED
