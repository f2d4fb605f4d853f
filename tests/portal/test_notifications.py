"""Notifications: a row first, sent after commit, retried by the sweep when the broker or gateway fails."""

import json

import pytest
from django.core import mail

from portal.models import Notification
from portal.notifications import notification_retry_sweep, notification_send, notify
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sms_file(settings, tmp_path):
    settings.SMS_BACKEND = "portal.sms.FileSmsBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.log")
    return tmp_path / "sms.log"


def sms_lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def test_notify_creates_one_row_per_user(django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks() as callbacks:
        rows = notify(users=[user, user], kind="accepted", message="您的申请已受理", application="NET-20261124-000001")
    assert len(rows) == 1 and len(callbacks) == 1
    stored = Notification.objects.get(user=user)
    assert (stored.kind, stored.application, stored.sent_at) == ("accepted", "NET-20261124-000001", None)


def test_send_by_email_and_sms_once(sms_file):
    user = UserFactory(email="zhang@example.cn", phone="13800000000")
    (row,) = notify(users=[user], kind="accepted", message="您的申请已受理")
    assert notification_send(notification_id=row.pk) is True
    assert notification_send(notification_id=row.pk) is False  # already sent: never twice
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["zhang@example.cn"]
    assert [line["phone"] for line in sms_lines(sms_file)] == ["13800000000"]
    assert "您的申请已受理" in sms_lines(sms_file)[0]["message"]
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 1


def test_broker_down_loses_nothing_and_the_sweep_sends_later(broker_down, sms_file, django_capture_on_commit_callbacks):
    user = UserFactory(email="li@example.cn", phone="13900000000")
    with django_capture_on_commit_callbacks(execute=True):
        notify(users=[user], kind="decided", message="您的办件已审查通过")
    row = Notification.objects.get(user=user)
    assert row.sent_at is None and mail.outbox == []
    assert notification_retry_sweep() == 1
    row.refresh_from_db()
    assert row.sent_at is not None
    assert len(mail.outbox) == 1 and len(sms_lines(sms_file)) == 1
    assert notification_retry_sweep() == 0


def test_failing_gateway_backs_off_and_retries(settings, sms_file, tmp_path):
    # The "gateway" (a file) cannot be written: its folder is a plain file.
    (tmp_path / "blocked").write_text("")
    settings.SMS_FILE_PATH = str(tmp_path / "blocked" / "sms.log")
    user = UserFactory(phone="13700000000")
    (row,) = notify(users=[user], kind="accepted", message="已受理")
    assert notification_send(notification_id=row.pk) is False
    row.refresh_from_db()
    assert row.sent_at is None and row.attempts == 1 and row.last_error and row.next_attempt_at > row.created_at
    assert notification_retry_sweep() == 0  # not due yet: backoff
    settings.SMS_FILE_PATH = str(sms_file)
    Notification.objects.filter(pk=row.pk).update(next_attempt_at=row.created_at)
    assert notification_retry_sweep() == 1


def test_inbox_api_is_own_only_and_marks_read(login_api):
    user, other = UserFactory(), UserFactory()
    (mine,) = notify(users=[user], kind="accepted", message="您的申请已受理", application="NET-20261124-000001")
    (theirs,) = notify(users=[other], kind="accepted", message="别人的")
    client = login_api(user)
    body = client.get("/api/v1/notifications/").json()
    assert body["count"] == 1
    assert body["results"][0] == {
        "id": mine.pk, "kind": "accepted", "application": "NET-20261124-000001", "message": "您的申请已受理",
        "created_at": body["results"][0]["created_at"], "read_at": None, "sent_at": None,
    }
    assert client.post(f"/api/v1/notifications/{theirs.pk}/read/").status_code == 404
    response = client.post(f"/api/v1/notifications/{mine.pk}/read/")
    assert response.status_code == 200 and response.json()["read_at"]
    assert client.get("/api/v1/notifications/?unread=1").json()["count"] == 0
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_inbox_page(client):
    user = UserFactory()
    notify(users=[user], kind="accepted", message="您的申请已受理", application="NET-20261124-000001")
    client.force_login(user)
    body = client.get("/inbox/").content.decode()
    assert "您的申请已受理" in body and "NET-20261124-000001" in body and 'class="badge">1<' in body
    client.post("/inbox/")
    assert Notification.objects.get(user=user).read_at is not None


def test_an_inbox_message_links_to_the_case_on_the_readers_own_page_and_is_read_one_by_one(client):
    citizen, clerk = UserFactory(), UserFactory(clerk=True)
    notify(users=[citizen], kind="accepted", message="您的申请已受理", application="NET-20261124-000001")
    notify(users=[citizen], kind="decided", message="您的办件已审查通过", application="NET-20261124-000001")
    notify(users=[citizen], kind="registered", message="欢迎注册", application="")
    notify(users=[clerk], kind="materials_resubmitted", message="申请人已补正", application="NET-20261124-000001")
    first, second, general = Notification.objects.filter(user=citizen).order_by("pk")
    client.force_login(citizen)
    body = client.get("/inbox/").content.decode()
    assert f'href="/inbox/{first.pk}/"' in body and f'href="/inbox/{general.pk}/"' not in body
    # the link reads the message and opens the applicant's page of the case
    response = client.get(f"/inbox/{first.pk}/")
    assert response.status_code == 302 and response["Location"] == "/my/cases/NET-20261124-000001/"
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None
    # 标为已读 one message only
    client.post(f"/inbox/{general.pk}/read/")
    general.refresh_from_db()
    second.refresh_from_db()
    assert general.read_at is not None and second.read_at is None
    # someone else's message is not found, and nothing changes
    theirs = Notification.objects.get(user=clerk)
    assert client.get(f"/inbox/{theirs.pk}/").status_code == 404
    assert client.post(f"/inbox/{theirs.pk}/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    # the clerk's link opens the window's page of the case
    client.force_login(clerk)
    assert client.get(f"/inbox/{theirs.pk}/")["Location"] == "/window/cases/NET-20261124-000001/"
