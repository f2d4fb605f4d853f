"""What a locked-out login sees: JSON for the API, a Chinese page for people (django-axes callable)."""

from django.http import JsonResponse
from django.shortcuts import render

LOCKED_OUT_MESSAGE = "登录失败次数过多，账户已临时锁定，请稍后再试"


def lockout_response(request, response, credentials, *args, **kwargs):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": LOCKED_OUT_MESSAGE, "code": "locked_out"}, status=429)
    return render(request, "registration/locked_out.html", status=429)
