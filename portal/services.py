"""Writes of the infrastructure: accounts. Every function is a use case, atomic and audited."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from portal.audit import SYSTEM_CHAIN, audit_record
from portal.models import Department, Hall, Role, User
from portal.passwords import password_problems


def user_create(
    *,
    username: str,
    password: str,
    role: str,
    department_code: str = "",
    hall_code: str = "",
    real_name: str = "",
    id_type: str = "",
    id_number: str = "",
    phone: str = "",
    email: str = "",
    actor: User | None = None,
) -> User:
    """Create an account; raises ValidationError keyed by field, with Chinese messages, and stores nothing."""
    errors: dict[str, list[str]] = {}
    if role not in Role.values:
        errors["role"] = [f"未知角色：{role}（可选：{'、'.join(Role.values)}）"]
    department = hall = None
    if department_code:
        department = Department.objects.filter(code=department_code).first()
        if department is None:
            errors["department"] = [f"部门 {department_code} 不存在"]
    if hall_code:
        hall = Hall.objects.filter(code=hall_code).first()
        if hall is None:
            errors["hall"] = [f"大厅 {hall_code} 不存在"]
    if id_number and not id_type:
        id_type = "111"
    user = User(
        username=username,
        role=role,
        department=department,
        hall=hall,
        real_name=real_name,
        id_type=id_type,
        id_number=id_number or None,
        phone=phone,
        email=email,
    )
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if problems := password_problems(password, user):
        errors["password"] = problems
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
            audit_record(
                chain=SYSTEM_CHAIN,
                actor=actor,
                action="user_create",
                object_type="user",
                object_id=user.pk,
                payload={"username": user.username, "role": user.role},
            )
    except IntegrityError as error:  # a concurrent create of the same username or ID number
        raise ValidationError({"id_number": ["该证件号码或用户名已登记"]}) from error
    return user


def user_for_identity(*, name: str, id_type: str, id_number: str) -> User:
    """The account of a person known by real name and ID (a walk-in at the window); created if new.

    The ID is stored once: an existing account with that number is reused, and a name that does not match
    it is refused rather than silently creating a second identity.
    """
    from portal.identity import normalize_id_number

    errors = {}
    if not name.strip():
        errors["name"] = ["请填写申请人姓名"]
    try:
        id_number = normalize_id_number(id_type=id_type, value=id_number)
    except ValidationError as error:
        errors["id_number"] = error.messages
    if errors:
        raise ValidationError(errors)
    user = User.objects.filter(id_number=id_number).first()
    if user is not None:
        if user.real_name and user.real_name != name.strip():
            raise ValidationError({"name": ["姓名与已登记的证件信息不一致"]})
        return user
    user = User(username=f"id{id_number}", role=Role.APPLICANT, real_name=name.strip(), id_type=id_type, id_number=id_number)
    user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # registered by another window a moment ago
        user = User.objects.get(id_number=id_number)
    return user


def api_token_expired(token: Token) -> bool:
    """API_TOKEN_TTL_HOURS after the sign-in that last issued it, a token no longer works."""
    return timezone.now() >= token.created + timedelta(hours=settings.API_TOKEN_TTL_HOURS)


def api_token_issue(*, user: User) -> Token:
    """The user's API token after a successful sign-in: the same key while it is valid (its lifetime starts
    again now), a new one once it has expired (portal/authentication.py)."""
    with transaction.atomic():
        token, created = Token.objects.select_for_update().get_or_create(user=user)
        if not created:
            if api_token_expired(token):
                token.delete()
                token = Token.objects.create(user=user)
            else:
                token.created = timezone.now()
                token.save(update_fields=["created"])
    return token


def api_token_revoke(*, user: User) -> None:
    """Sign-out: the user's API token stops working at once."""
    Token.objects.filter(user=user).delete()
