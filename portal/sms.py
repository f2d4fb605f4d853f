"""SMS gateways. The real one is the outside world; development and tests write to a file or the console."""

import json
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string


class SmsError(Exception):
    pass


class ConsoleSmsBackend:
    def send(self, *, phone: str, message: str) -> None:
        print(f"[短信] {phone}: {message}")  # noqa: T201


class FileSmsBackend:
    """One JSON line per message in SMS_FILE_PATH (var/sms.log by default)."""

    def send(self, *, phone: str, message: str) -> None:
        path = Path(settings.SMS_FILE_PATH)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"at": datetime.now().isoformat(), "phone": phone, "message": message}, ensure_ascii=False) + "\n")


class HttpSmsBackend:
    """The operator's SMS gateway: POST {phone, message, sign} as JSON to SMS_GATEWAY_URL with the bearer
    token SMS_GATEWAY_TOKEN. Anything but a 2xx answer (or no answer within SMS_GATEWAY_TIMEOUT seconds)
    raises SmsError, so the notification stays unsent and the retry sweep tries again with backoff."""

    def send(self, *, phone: str, message: str) -> None:
        body = json.dumps({"phone": phone, "message": message, "sign": settings.SMS_GATEWAY_SIGN}, ensure_ascii=False)
        request = urllib.request.Request(
            settings.SMS_GATEWAY_URL,
            data=body.encode("utf-8"),
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8",
                     "Authorization": f"Bearer {settings.SMS_GATEWAY_TOKEN}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=settings.SMS_GATEWAY_TIMEOUT) as response:
                status = response.status
        except urllib.error.HTTPError as error:  # a non-2xx answer
            raise SmsError(f"短信网关拒绝：HTTP {error.code}") from error
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise SmsError(f"短信网关不可达：{error}") from error
        if not 200 <= status < 300:
            raise SmsError(f"短信网关拒绝：HTTP {status}")


def get_sms_backend():
    return import_string(settings.SMS_BACKEND)()
