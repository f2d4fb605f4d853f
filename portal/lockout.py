"""The login lock-out (django-axes, decision 002): what a locked-out login sees (JSON for the API, a Chinese
page for people), and which account a sign-in by phone + SMS code counts against (decision 046)."""

from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import render

from portal.accounts import account_for_phone, normalize_mobile

LOCKED_OUT_MESSAGE = "登录失败次数过多，账户已临时锁定，请稍后再试"


def lockout_response(request, response, credentials, *args, **kwargs):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": LOCKED_OUT_MESSAGE, "code": "locked_out"}, status=429)
    return render(request, "registration/locked_out.html", status=429)


def lockout_username(request, credentials=None) -> str | None:
    """AXES_USERNAME_CALLABLE: the username, or for a phone + code the username of the account the phone
    signs in, so wrong passwords and wrong codes add up for one account (and one client address). A phone
    of no account is counted under `phone:<number>`."""
    data = credentials if credentials is not None else getattr(request, "data", None) or request.POST
    username = data.get("username")
    if username or not data.get("phone"):
        return username
    phone = str(data.get("phone"))
    try:
        phone = normalize_mobile(phone)
    except ValidationError:
        return f"phone:{phone[:40]}"
    account = account_for_phone(phone)
    return account.username if account is not None else f"phone:{phone}"
