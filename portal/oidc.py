"""Unified identity (统一身份认证, DESIGN §13, decision 048): sign-in through the city's OIDC provider.

mozilla-django-oidc runs the authorization-code flow (state, nonce, PKCE, the ID token's signature checked
against the provider's JWKS); this module decides which account the verified identity is:

- The provider's verified ID number claim (`OIDC_ID_NUMBER_CLAIM`, a 居民身份证号码) is the key: the account
  holding that number, whatever way it came to be.
- A registered applicant account signs in. A walk-in identity (a clerk registered the person at the
  window: `portal.accounts.is_walk_in_identity`) with the same real name is claimed, as registration
  claims it (decision 046): the same row, so its cases and certificates are the account's at once. Another
  name is refused. With no account, a new applicant account is made, with no usable password.
- Staff accounts are never signed in here: they act on other people's cases and sign in by password.
- A refusal leaves its reason on the request (`oidc_refusal`, as SmsCodeBackend leaves `sms_login_errors`);
  the callback shows it on the login page.
"""

import hashlib
import logging
import re

import requests
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.shortcuts import redirect
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView

from portal.accounts import is_walk_in_identity, normalize_mobile
from portal.audit import SYSTEM_CHAIN, audit_record
from portal.identity import IdType, normalize_id_number
from portal.models import Role, User

logger = logging.getLogger(__name__)

FAILED_MESSAGE = "统一身份认证登录未完成，请重新登录"
UNAVAILABLE_MESSAGE = "统一身份认证服务暂时无法访问，请稍后再试或使用其他方式登录"
ID_NUMBER_MESSAGE = "统一身份认证未提供有效的居民身份证号码，无法登录；请到窗口咨询"
NAME_MISSING_MESSAGE = "统一身份认证未提供真实姓名，无法登录"
NAME_MISMATCH_MESSAGE = "统一身份认证的姓名与窗口登记的该证件号码的姓名不一致，无法登录；如有疑问请到窗口咨询"
STAFF_MESSAGE = "工作人员账户不能通过统一身份认证登录，请使用密码登录"
INACTIVE_MESSAGE = "该账户已停用，如有疑问请到窗口咨询"
_SAFE_SUBJECT = re.compile(r"[\w.@+-]{1,100}")


def oidc_username(subject: str) -> str:
    """`oidc-<sub>` (a username Django accepts), or `oidc-<sha256 of sub>` when `sub` does not fit one."""
    if _SAFE_SUBJECT.fullmatch(subject):
        return f"oidc-{subject}"
    return f"oidc-{hashlib.sha256(subject.encode()).hexdigest()[:40]}"


def _free_mobile(phone: str, *, owner: User | None = None) -> str:
    """The provider's phone as a mainland mobile when no other account uses it (as phone or username), else ""."""
    try:
        phone = normalize_mobile(phone)
    except ValidationError:
        return ""
    others = User.objects.filter(Q(username=phone) | Q(phone=phone))
    if owner is not None:
        others = others.exclude(pk=owner.pk)
    return "" if others.exists() else phone


def user_for_oidc_identity(*, subject: str, real_name: str, id_number: str, phone: str = "") -> User:
    """The account a verified identity signs in (see the module docstring); ValidationError (one Chinese
    message) when it must not sign in. A claim and a new account are audited in the transaction that writes them."""
    real_name = (real_name or "").strip()
    try:
        id_number = normalize_id_number(id_type=IdType.RESIDENT_ID, value=str(id_number or ""))
    except ValidationError as error:
        raise ValidationError(ID_NUMBER_MESSAGE, code="invalid_id_number") from error
    if not real_name:
        raise ValidationError(NAME_MISSING_MESSAGE, code="name_missing")
    username = oidc_username(subject)
    try:
        with transaction.atomic():
            user = User.objects.select_for_update().filter(id_number=id_number).first()
            if user is None:
                user = User(username=username, role=Role.APPLICANT, real_name=real_name, id_type=IdType.RESIDENT_ID,
                            id_number=id_number, phone=_free_mobile(phone))
                user.set_unusable_password()
                user.save()
                audit_record(chain=SYSTEM_CHAIN, actor=user, action="user_register_oidc", object_type="user", object_id=user.pk,
                             payload={"username": user.username, "id_masked": user.id_masked})
                return user
            if user.role != Role.APPLICANT:
                raise ValidationError(STAFF_MESSAGE, code="staff")
            if not is_walk_in_identity(user):
                return user  # a registered applicant: the ID proven by the provider is theirs
            if user.real_name != real_name:
                raise ValidationError(NAME_MISMATCH_MESSAGE, code="name_mismatch")
            if user.username != username:  # not claimed by this identity before (one with no phone stays walk-in)
                walk_in_username = user.username
                user.username, user.phone = username, _free_mobile(phone, owner=user)
                user.save(update_fields=["username", "phone"])
                audit_record(chain=SYSTEM_CHAIN, actor=user, action="user_claim_oidc", object_type="user", object_id=user.pk,
                             payload={"username": user.username, "id_masked": user.id_masked,
                                      "walk_in_username": walk_in_username})
            return user
    except IntegrityError as error:  # the same ID, username or phone written a moment ago: the next try sees it
        raise ValidationError(FAILED_MESSAGE, code="conflict") from error


class OidcBackend(OIDCAuthenticationBackend):
    """Listed after axes' backend (settings: only when OIDC is on). The keyword-only `nonce` makes
    `authenticate()` skip this backend for every call but the OIDC callback's, so a password or SMS
    sign-in never reaches the provider."""

    def authenticate(self, request, *, nonce, code_verifier=None):
        try:
            return super().authenticate(request, nonce=nonce, code_verifier=code_verifier)
        except requests.RequestException as error:
            logger.warning("统一身份认证服务调用失败：%s", error)
            request.oidc_refusal = UNAVAILABLE_MESSAGE
        except SuspiciousOperation as error:  # a token that does not verify, a nonce that does not match
            logger.warning("统一身份认证令牌无效：%s", error)
        return None

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        if claims.get("sub") != payload.get("sub"):  # OIDC Core 5.3.2: userinfo must be about the token's subject
            raise SuspiciousOperation("userinfo sub does not match the ID token's")
        try:
            user = user_for_oidc_identity(
                subject=str(payload["sub"]),
                real_name=claims.get(settings.OIDC_NAME_CLAIM, ""),
                id_number=claims.get(settings.OIDC_ID_NUMBER_CLAIM, ""),
                phone=str(claims.get(settings.OIDC_PHONE_CLAIM, "")) if settings.OIDC_PHONE_CLAIM else "",
            )
        except ValidationError as error:
            logger.info("统一身份认证登录被拒绝：%s", error.code)
            self.request.oidc_refusal = error.messages[0]
            return None
        if not self.user_can_authenticate(user):
            self.request.oidc_refusal = INACTIVE_MESSAGE
            return None
        return user


class OidcCallbackView(OIDCAuthenticationCallbackView):
    """The callback (`OIDC_CALLBACK_CLASS`): a failed or refused sign-in goes back to the login page and says why."""

    def login_failure(self):
        messages.error(self.request, getattr(self.request, "oidc_refusal", FAILED_MESSAGE))
        return redirect("login")
