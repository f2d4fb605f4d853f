"""Writes of the infrastructure: accounts. Every function is a use case, atomic and audited."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from portal.audit import audit_record
from portal.models import Department, Hall, Role, User


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
    try:
        validate_password(password, user)
    except ValidationError as error:
        errors["password"] = list(error.messages)
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
            audit_record(
                actor=actor,
                action="user_create",
                object_type="user",
                object_id=user.pk,
                payload={"username": user.username, "role": user.role},
            )
    except IntegrityError as error:  # a concurrent create of the same username or ID number
        raise ValidationError({"id_number": ["该证件号码或用户名已登记"]}) from error
    return user
