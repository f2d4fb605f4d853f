"""The accounts pages (DESIGN §13, decision 046): 注册, 短信验证码登录, 找回密码. Each form has a 获取验证码
button that posts the same form (no script needed): it checks only the phone, sends a code and shows the
form again with what was typed (passwords excepted)."""

from django.contrib import messages
from django.contrib.auth import authenticate, login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme

from portal.accounts import SmsUnavailable, password_reset_by_sms, sms_code_request, user_register
from portal.errors import Refused
from portal.forms import PasswordResetForm, RegistrationForm, SmsLoginForm
from portal.models import SmsPurpose
from portal.throttles import RateLimited, throttle_hit, throttled_response

SEND_CODE = "send_code"


def _field_errors(form, error: ValidationError) -> None:
    for field, field_messages in error.message_dict.items():
        for message in field_messages:
            form.add_error(field if field in form.fields else None, message)


def send_code_page(request, form, purpose: str, template: str, **context):
    """The 获取验证码 button: the per-address limit, then the service (per-phone limits); the form again."""
    wait = throttle_hit(scope="sms_code", request=request)
    if wait is not None:
        return throttled_response(request, wait)
    status = 200
    try:
        sms_code_request(phone=form.cleaned_data.get("phone", ""), purpose=purpose)
    except ValidationError as error:
        _field_errors(form, error)
        status = 400
    except RateLimited as error:
        form.add_error("phone", error.detail)
        status = 429
    except SmsUnavailable as error:
        form.add_error(None, error.detail)
        status = error.status_code
    return _page(request, template, form, status=status, code_sent=status == 200, **context)


def _page(request, template: str, form, status: int = 200, **context):
    return render(request, template, {"form": form, **context}, status=status)


def _next_url(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


def _my_cases() -> str:
    try:
        return reverse("applications:mine")
    except NoReverseMatch:
        return reverse("home")


def _begin(request, form_class, purpose: str, template: str, *, new_password: bool, **context):
    """What every accounts page does before its own work: the empty form for a GET; for a POST the form's
    shape, the 获取验证码 button, the two passwords, the per-address sign-in limit. (form, None) to go on
    with a valid form, or (form, the response)."""
    if request.method != "POST":
        form = form_class()
        return form, _page(request, template, form, **context)
    form = form_class(request.POST)
    if not form.is_valid():
        return form, _page(request, template, form, status=400, **context)
    if request.POST.get("action") == SEND_CODE:
        return form, send_code_page(request, form, purpose, template, **context)
    if new_password and form.cleaned_data.get("password") != form.cleaned_data.get("password_again"):
        form.add_error("password_again", "两次输入的密码不一致")
        return form, _page(request, template, form, status=400, **context)
    wait = throttle_hit(scope="login", request=request)
    if wait is not None:
        return form, throttled_response(request, wait)
    return form, None


def register(request):
    """自然人注册: real name, ID, phone + SMS code, password; claims the walk-in identity of the same person."""
    template = "registration/register.html"
    if request.user.is_authenticated:
        return redirect("home")
    form, response = _begin(request, RegistrationForm, SmsPurpose.REGISTER, template, new_password=True)
    if response is not None:
        return response
    data = form.cleaned_data
    try:
        user, claimed = user_register(real_name=data["real_name"], id_type=data["id_type"], id_number=data["id_number"],
                                      phone=data["phone"], code=data["code"], password=data["password"])
    except ValidationError as error:
        _field_errors(form, error)
        return _page(request, template, form, status=400)
    except Refused as error:
        form.add_error(None, error.detail)
        return _page(request, template, form, status=error.status_code)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    if claimed:
        messages.success(request, "注册成功。您在窗口办理的事项和证照已在本账户中。")
    else:
        messages.success(request, f"注册成功。以后可用手机号 {user.username} 和密码登录，或用短信验证码登录。")
    return redirect(_my_cases())


def login_sms(request):
    """短信验证码登录: the second tab of the login page; failures count for the lock-out like wrong passwords."""
    template = "registration/login.html"
    if request.user.is_authenticated:
        return redirect("home")
    context = {"via": "sms", "next": _next_url(request, "")}
    form, response = _begin(request, SmsLoginForm, SmsPurpose.LOGIN, template, new_password=False, **context)
    if response is not None:
        return response
    user = authenticate(request, phone=form.cleaned_data["phone"], code=form.cleaned_data["code"])
    if user is None:
        # A locked-out login is answered by django-axes' middleware (registration/locked_out.html).
        _field_errors(form, ValidationError(getattr(request, "sms_login_errors", None) or {"code": ["手机号或验证码错误"]}))
        return _page(request, template, form, status=400, **context)
    login(request, user)
    return redirect(_next_url(request, reverse("home")))


def password_reset(request):
    """找回密码: a `reset` SMS code to the account's phone, then a new password."""
    template = "registration/password_reset.html"
    form, response = _begin(request, PasswordResetForm, SmsPurpose.RESET, template, new_password=True)
    if response is not None:
        return response
    data = form.cleaned_data
    try:
        user = password_reset_by_sms(phone=data["phone"], code=data["code"], password=data["password"])
    except ValidationError as error:
        _field_errors(form, error)
        return _page(request, template, form, status=400)
    messages.success(request, f"密码已重置，请用新密码登录（用户名 {user.username}）。")
    return redirect("login")
