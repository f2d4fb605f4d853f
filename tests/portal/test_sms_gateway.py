"""SMS (DESIGN §9, §13): the HTTP gateway adapter against a real HTTP server, and the case's contact phone."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from portal.models import Notification
from portal.notifications import Message, notification_retry_sweep, notification_send, notify_many
from portal.sms import HttpSmsBackend, SmsError
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


class Gateway(BaseHTTPRequestHandler):
    """An operator's gateway: records each request; answers with the status the test set."""

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        self.server.received.append({
            "path": self.path, "authorization": self.headers["Authorization"],
            "content_type": self.headers["Content-Type"], "body": json.loads(self.rfile.read(length)),
        })
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok": true}')

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    server.received, server.status = [], 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SMS_BACKEND = "portal.sms.HttpSmsBackend"
    settings.SMS_GATEWAY_URL = f"http://127.0.0.1:{server.server_address[1]}/sms/send"
    settings.SMS_GATEWAY_TOKEN = "gateway-token-123"
    settings.SMS_GATEWAY_SIGN = "一网通办"
    settings.SMS_GATEWAY_TIMEOUT = 2
    yield server
    server.shutdown()
    server.server_close()


def test_the_adapter_posts_json_with_the_bearer_token(gateway):
    HttpSmsBackend().send(phone="13800000001", message="【一网通办】您的申请已受理")
    (request,) = gateway.received
    assert request["path"] == "/sms/send"
    assert request["authorization"] == "Bearer gateway-token-123"
    assert request["content_type"].startswith("application/json")
    assert request["body"] == {"phone": "13800000001", "message": "【一网通办】您的申请已受理", "sign": "一网通办"}


@pytest.mark.parametrize("status", [400, 500, 503])
def test_a_refusing_gateway_raises(gateway, status):
    gateway.status = status
    with pytest.raises(SmsError, match=f"HTTP {status}"):
        HttpSmsBackend().send(phone="13800000001", message="测试")


def test_an_unreachable_gateway_raises(settings):
    settings.SMS_GATEWAY_URL = "http://127.0.0.1:9/sms"  # nothing listens there
    settings.SMS_GATEWAY_TOKEN, settings.SMS_GATEWAY_TIMEOUT = "t", 2
    with pytest.raises(SmsError, match="不可达"):
        HttpSmsBackend().send(phone="13800000001", message="测试")


def test_a_refused_notification_is_retried_then_sent(gateway):
    user = UserFactory(phone="13800000002")
    (row_id,) = notify_many(messages=[([user.pk], "accepted", "您的申请已受理", "NET-20261124-000001")])
    gateway.status = 503
    assert notification_send(notification_id=row_id) is False
    row = Notification.objects.get(pk=row_id)
    assert row.sent_at is None and row.attempts == 1 and "HTTP 503" in row.last_error
    gateway.status = 200
    Notification.objects.filter(pk=row_id).update(next_attempt_at=row.created_at)
    assert notification_retry_sweep() == 1
    assert Notification.objects.get(pk=row_id).sent_at is not None
    assert [request["body"]["phone"] for request in gateway.received] == ["13800000002", "13800000002"]


def test_the_contact_phone_gets_the_sms_too_but_one_number_only_once(gateway):
    user = UserFactory(phone="13800000003")
    ids = notify_many(messages=[
        Message([user.pk], "accepted", "甲", "NET-20261124-000001", contact_phone="13900000003"),
        Message([user.pk], "accepted", "乙", "NET-20261124-000002", contact_phone="138 0000 0003"),  # the account's own
        Message([user.pk], "accepted", "丙", "NET-20261124-000003"),
    ])
    assert list(Notification.objects.filter(pk__in=ids).order_by("pk").values_list("contact_phone", flat=True)) == [
        "13900000003", "138 0000 0003", ""]
    for row_id in ids:
        assert notification_send(notification_id=row_id) is True
    sent = [(request["body"]["phone"], request["body"]["message"]) for request in gateway.received]
    assert sent == [
        ("13800000003", "【一网通办】甲"), ("13900000003", "【一网通办】甲"),
        ("13800000003", "【一网通办】乙"),
        ("13800000003", "【一网通办】丙"),
    ]
