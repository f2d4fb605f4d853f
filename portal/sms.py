"""SMS gateways. The real one is the outside world; development and tests write to a file or the console."""

import json
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


def get_sms_backend():
    return import_string(settings.SMS_BACKEND)()
