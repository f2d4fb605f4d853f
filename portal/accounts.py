"""Accounts people make themselves (DESIGN §13, decision 046): SMS verification codes, registration with real
name (claiming the identity a clerk registered at the window), sign-in by code and password reset by code.

- A code is 6 digits from `secrets`, valid CODE_LIFETIME, dead after MAX_TRIES wrong tries or one use; only
  its HMAC is stored, one live code per (phone, purpose): a new request replaces the old one.
- Requests are limited per phone (scopes `sms_phone`, `sms_phone_day`, whoever asks) here, and per client
  address (`sms_code`) at the door (API throttle, page view).
- Field shape is checked before the code, so a typo in the ID number does not cost a try; whatever is
  refused after the code was accepted (an ID already registered, a name that does not match) spends it.
- Sign-in and reset by code are for applicant accounts: staff sign in by password (a SIM swap must not
  open an account that acts on other people's cases).
"""

import logging
import math
import re
import secrets
import time
from datetime import timedelta

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from portal.audit import SYSTEM_CHAIN, audit_record
from portal.errors import Refused
from portal.identity import IdType, normalize_id_number
from portal.models import Role, SmsCode, SmsPurpose, User
from portal.passwords import password_problems
from portal.services import api_token_revoke
from portal.sms import get_sms_backend
from portal.throttles import THROTTLED_MESSAGE, RateLimited, throttle_hit

logger = logging.getLogger(__name__)

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=5)
MAX_TRIES = 5
# After a failed send, this process answers "try later" at once for this long instead of waiting for the
# gateway's timeout on every request (as portal.broker does for the broker).
SMS_PAUSE_SECONDS = 30
_sms_paused_until = 0.0

_MOBILE = re.compile(r"1[3-9]\d{9}")
_CODE = re.compile(r"\d{%d}" % CODE_DIGITS)
CODE_DEAD_MESSAGE = "验证码已失效，请重新获取"
PHONE_MESSAGE = "请填写正确的 11 位手机号码"


class SmsUnavailable(Refused):
    """The SMS gateway could not be reached: no code went out (HTTP 503)."""

    status_code = 503
    default_code = "sms_unavailable"


def normalize_mobile(value: str) -> str:
    """"+86 138-0013-8000" → "13800138000"; ValidationError (Chinese) for anything that is not a mainland mobile."""
    compact = re.sub(r"[\s\-()]", "", value or "")
    if compact.startswith("+86"):
        compact = compact[3:]
    elif compact.startswith("0086"):
        compact = compact[4:]
    if not _MOBILE.fullmatch(compact):
        raise ValidationError(PHONE_MESSAGE, code="invalid_phone")
    return compact


def _code_hash(*, phone: str, purpose: str, code: str) -> str:
    return salted_hmac("portal.accounts.sms_code", f"{phone}:{purpose}:{code}", algorithm="sha256").hexdigest()


def _send(*, phone: str, message: str) -> None:
    global _sms_paused_until
    if time.monotonic() < _sms_paused_until:
        raise SmsUnavailable("短信服务暂时不可用，请稍后再试")
    try:
        get_sms_backend().send(phone=phone, message=message)
    except Exception as error:  # the gateway is the outside world: say so, do not hang the request
        _sms_paused_until = time.monotonic() + SMS_PAUSE_SECONDS
        logger.warning("验证码短信未能发送（%s）；%d 秒内不再尝试", error, SMS_PAUSE_SECONDS)
        raise SmsUnavailable("短信发送失败，请稍后再试") from error


def sms_sending_resume() -> None:
    """Try the gateway again at the next request (tests)."""
    global _sms_paused_until
    _sms_paused_until = 0.0


def sms_code_request(*, phone: str, purpose: str) -> SmsCode:
    """Send a new code to `phone` for `purpose`, replacing its live one. Refused (RateLimited, nothing sent)
    beyond the per-phone limits; the per-address limit is the caller's (it knows the client)."""
    errors = {}
    if purpose not in SmsPurpose.values:
        errors["purpose"] = [f"用途应为 {'、'.join(SmsPurpose.values)} 之一"]
    try:
        phone = normalize_mobile(phone)
    except ValidationError as error:
        errors["phone"] = error.messages
    if errors:
        raise ValidationError(errors)
    for scope in ("sms_phone", "sms_phone_day"):
        wait = throttle_hit(scope=scope, key=phone)
        if wait is not None:
            raise RateLimited(f"该手机号获取验证码{THROTTLED_MESSAGE}（约 {math.ceil(wait)} 秒后）", wait=wait)
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    now = timezone.now()
    row, _ = SmsCode.objects.update_or_create(
        phone=phone, purpose=purpose,
        defaults={"code_hash": _code_hash(phone=phone, purpose=purpose, code=code), "created_at": now,
                  "expires_at": now + CODE_LIFETIME, "attempts": 0, "used_at": None},
    )
    minutes = int(CODE_LIFETIME.total_seconds() // 60)
    _send(phone=phone, message=f"【一网通办】您的{SmsPurpose(purpose).label}验证码为 {code}，{minutes} 分钟内有效。"
                               "如非本人操作，请忽略本短信。")
    return row


def sms_code_verify(*, phone: str, purpose: str, code: str) -> None:
    """Accept and spend the live code, or raise ValidationError on `code`. A wrong try is counted and kept
    even though the caller's request then fails: call this outside the caller's transaction."""
    with transaction.atomic():
        row = SmsCode.objects.select_for_update().filter(phone=phone, purpose=purpose).first()
        if row is None or row.used_at is not None or row.expires_at <= timezone.now() or row.attempts >= MAX_TRIES:
            message = CODE_DEAD_MESSAGE
        else:
            row.attempts += 1
            right = constant_time_compare(row.code_hash, _code_hash(phone=phone, purpose=purpose, code=code))
            if right:
                row.used_at = timezone.now()
                message = None
            elif row.attempts >= MAX_TRIES:
                message = "验证码错误次数过多，已失效，请重新获取"
            else:
                message = f"验证码错误，还可尝试 {MAX_TRIES - row.attempts} 次"
            row.save(update_fields=["attempts", "used_at"])
    if message is not None:
        raise ValidationError({"code": [message]})


def _code_shape(code: str) -> list[str]:
    return [] if _CODE.fullmatch(code or "") else [f"请填写 {CODE_DIGITS} 位数字验证码"]


def account_for_phone(phone: str) -> User | None:
    """The applicant account signed in by this mobile number: exactly one active applicant has it, or none."""
    accounts = list(User.objects.filter(phone=phone, role=Role.APPLICANT, is_active=True)[:2])
    return accounts[0] if len(accounts) == 1 else None


def is_walk_in_identity(user: User) -> bool:
    """A person a clerk registered at the window (portal.services.user_for_identity): no password, no phone."""
    return user.role == Role.APPLICANT and not user.has_usable_password() and not user.phone


def user_register(*, real_name: str, id_type: str, id_number: str, phone: str, code: str, password: str) -> tuple[User, bool]:
    """A natural person's account (自然人注册), or the claim of their walk-in identity: (user, claimed).

    One account per ID number: an ID held by an account is a 409. An ID a clerk registered at the window
    with the same name becomes this account (same row: their cases and certificates are theirs online);
    with another name it is refused on `real_name`.
    """
    real_name = (real_name or "").strip()
    errors: dict[str, list[str]] = {}
    if not real_name:
        errors["real_name"] = ["请填写真实姓名"]
    if id_type != IdType.RESIDENT_ID:
        errors["id_type"] = ["网上注册仅支持居民身份证"]
    else:
        try:
            id_number = normalize_id_number(id_type=id_type, value=id_number)
        except ValidationError as error:
            errors["id_number"] = error.messages
    try:
        phone = normalize_mobile(phone)
    except ValidationError as error:
        errors["phone"] = error.messages
    if message := _code_shape(code):
        errors["code"] = message
    if problems := password_problems(password, User(username=phone, real_name=real_name, phone=phone)):
        errors["password"] = problems
    if errors:
        raise ValidationError(errors)
    sms_code_verify(phone=phone, purpose=SmsPurpose.REGISTER, code=code)
    try:
        with transaction.atomic():
            user = User.objects.select_for_update().filter(id_number=id_number).first()
            if user is not None and not is_walk_in_identity(user):
                raise Refused("该证件号码已注册账户，请直接登录；如忘记密码，可通过短信验证码找回", code="already_registered")
            if user is not None and user.real_name != real_name:
                raise ValidationError({"real_name": ["姓名与窗口登记的该证件号码的姓名不一致，请核对；如有疑问请到窗口咨询"]})
            if User.objects.filter(Q(username=phone) | Q(phone=phone)).exists():
                raise Refused("该手机号已注册账户，请直接登录或通过短信验证码找回密码", code="phone_taken")
            claimed = user is not None
            if claimed:
                walk_in_username = user.username
                user.username, user.phone = phone, phone
                user.set_password(password)
                user.save(update_fields=["username", "phone", "password"])
            else:
                user = User(username=phone, role=Role.APPLICANT, real_name=real_name, id_type=id_type,
                            id_number=id_number, phone=phone)
                user.set_password(password)
                user.save()
            audit_record(
                chain=SYSTEM_CHAIN,
                actor=user, action="user_claim" if claimed else "user_register", object_type="user", object_id=user.pk,
                payload={"username": user.username, "id_masked": user.id_masked,
                         **({"walk_in_username": walk_in_username} if claimed else {})},
            )
    except IntegrityError as error:  # the same ID or phone registered a moment ago
        raise Refused("该证件号码或手机号刚刚已注册账户，请直接登录", code="already_registered") from error
    return user, claimed


def password_reset_by_sms(*, phone: str, code: str, password: str) -> User:
    """A new password for the applicant account of `phone`, proven by a `reset` code; its API token stops
    working and its sessions end (their hash was the old password's)."""
    errors: dict[str, list[str]] = {}
    user = None
    try:
        phone = normalize_mobile(phone)
        user = account_for_phone(phone)
    except ValidationError as error:
        errors["phone"] = error.messages
    if message := _code_shape(code):
        errors["code"] = message
    if problems := password_problems(password, user):
        errors["password"] = problems
    if errors:
        raise ValidationError(errors)
    sms_code_verify(phone=phone, purpose=SmsPurpose.RESET, code=code)
    if user is None:
        raise ValidationError({"phone": ["该手机号未注册账户（工作人员请联系管理员重置密码）"]})
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        user.set_password(password)
        user.save(update_fields=["password"])
        audit_record(chain=SYSTEM_CHAIN, actor=user, action="user_password_reset", object_type="user", object_id=user.pk,
                     payload={"by": "sms"})
    api_token_revoke(user=user)
    return user


def user_for_sms_login(*, phone: str, code: str) -> User:
    """The account a `login` code signs in; ValidationError on `phone` or `code` otherwise."""
    try:
        phone = normalize_mobile(phone)
    except ValidationError as error:
        raise ValidationError({"phone": error.messages}) from error
    if message := _code_shape(code):
        raise ValidationError({"code": message})
    sms_code_verify(phone=phone, purpose=SmsPurpose.LOGIN, code=code)
    user = account_for_phone(phone)
    if user is None:
        raise ValidationError({"phone": ["该手机号未注册账户，请先注册"]})
    return user


class SmsCodeBackend(ModelBackend):
    """`authenticate(request, phone=…, code=…)`: listed after axes' backend, so a locked-out account is
    refused before its code is tried, and a failure here is counted by axes like a wrong password. Why it
    failed is left on the request (`sms_login_errors`) for the page and the API to show."""

    def authenticate(self, request, phone=None, code=None):
        if phone is None or code is None:
            return None
        try:
            user = user_for_sms_login(phone=phone, code=code)
        except ValidationError as error:
            if request is not None:
                request.sms_login_errors = error.message_dict
            return None
        return user if self.user_can_authenticate(user) else None
