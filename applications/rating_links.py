"""Rating without signing in (DESIGN §15): a signed link names the case, the stage and the channel — sent by
SMS to a walk-in when a stage is done, or put on the window's pad by the clerk. The link is usable once in
effect: a stage is rated once (Rating's unique constraint), so a second use finds it rated."""

from django.conf import settings
from django.core import signing
from django.urls import reverse

from applications.models import Application, Channel, RatingChannel, RatingStage, rating_stage_open

SALT = "applications.rating-link"
MAX_AGE = 30 * 24 * 3600  # an SMS link works for 30 days
# the kind of notice → the stage it closes, for the link a walk-in gets by SMS
STAGE_OF_NOTICE = {"accepted": RatingStage.INTAKE, "not_accepted": RatingStage.INTAKE, "issued": RatingStage.ISSUANCE}


def rating_link_token(*, case: Application, stage: str, channel: str) -> str:
    return signing.dumps({"n": case.number, "s": stage, "c": channel}, salt=SALT)


def rating_link_read(token: str, *, max_age: int = MAX_AGE) -> tuple[Application, str, str] | None:
    """The case, stage and channel a link stands for; None when forged, expired or about nothing known."""
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("s") not in RatingStage.values or data.get("c") not in RatingChannel.values:
        return None
    case = Application.objects.select_related("item_version", "department", "applicant").filter(number=str(data.get("n"))).first()
    return (case, data["s"], data["c"]) if case is not None else None


def rating_link_url(*, case: Application, stage: str) -> str:
    token = rating_link_token(case=case, stage=stage, channel=RatingChannel.SMS)
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("applications:rate-link", args=[token])


def rating_invitation(case: Application, kind: str) -> str:
    """For a walk-in (窗口受理, no habit of signing in), what a notice ends with: the link to rate the stage
    that notice closes. "" for everyone else."""
    stage = STAGE_OF_NOTICE.get(kind)
    if stage is None or case.channel != Channel.WINDOW or not rating_stage_open(case, stage):
        return ""
    return f"欢迎对{RatingStage(stage).label}进行评价：{rating_link_url(case=case, stage=stage)}"
