"""Following a complaint without signing in (decision 059): a signed link names the complaint; it is sent by
SMS to the phone the complaint was filed with, and shown once on the page that filed it. Rating through it
works once in effect: the answer is rated once (the complaint leaves 已答复)."""

from django.conf import settings
from django.core import signing
from django.urls import reverse

from applications.models import Complaint

SALT = "applications.complaint-link"
MAX_AGE = 90 * 24 * 3600  # long enough for an answer, a 复核 and a second answer


def complaint_link_token(complaint: Complaint) -> str:
    return signing.dumps({"t": complaint.number}, salt=SALT)


def complaint_link_read(token: str, *, max_age: int = MAX_AGE) -> Complaint | None:
    """The complaint a link stands for; None when forged, expired or about nothing known."""
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    return Complaint.objects.select_related("department", "application", "item").filter(number=str(data.get("t"))).first()


def complaint_link_path(complaint: Complaint) -> str:
    return reverse("public:complaint-follow", args=[complaint_link_token(complaint)])


def complaint_link_url(complaint: Complaint) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + complaint_link_path(complaint)
