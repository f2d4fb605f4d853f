"""The SMS file backend as a test reads it (portal.sms.FileSmsBackend: one JSON line per message)."""

import json
import re
from pathlib import Path

from portal.accounts import sms_sending_resume


class SmsOutbox:
    def __init__(self, path: Path):
        self.path = path

    def lines(self) -> list[dict]:
        """Every message sent, oldest first, as the backend wrote it ({"phone", "message", …})."""
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines()]

    def messages(self, phone: str | None = None) -> list[str]:
        return [line["message"] for line in self.lines() if phone is None or line["phone"] == phone]

    def code(self, phone: str) -> str:
        """The code in the last message to `phone`."""
        sent = self.messages(phone)
        assert sent, f"no SMS to {phone}"
        return re.search(r"\b(\d{6})\b", sent[-1]).group(1)


def sms_outbox(settings, tmp_path: Path) -> SmsOutbox:
    """This test's own SMS file (other tests, and other workers, write theirs)."""
    settings.SMS_BACKEND = "portal.sms.FileSmsBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.log")
    sms_sending_resume()
    return SmsOutbox(tmp_path / "sms.log")
