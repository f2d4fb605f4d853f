"""Infrastructure API: tokens, working days, and the project-wide error shape."""

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from portal.accounts import password_reset_by_sms, sms_code_request, user_register
from portal.errors import LOCK_CONFLICT_MESSAGE, Forbidden, Refused, is_lock_conflict
from portal.identity import IdType
from portal.lockout import LOCKED_OUT_MESSAGE
from portal.models import Notification, SmsPurpose, User
from portal.notifications import notification_mark_read
from portal.schema import ERROR
from portal.services import api_token_issue, api_token_revoke
from portal.throttles import ClientRateThrottle, RateLimited
from portal.workdays import MAX_WORKING_DAYS, WorkCalendar


def exception_handler(exc, context):
    """DRF's handler, plus a machine-readable `code` next to `detail` (409 invalid_transition, …).

    Services raise plain Python errors; this is the one place they become HTTP: Refused → 409,
    Forbidden → 403, Django's ValidationError → 400 with the messages keyed by field.
    """
    if isinstance(exc, RateLimited):  # a service's own limit (an SMS code per phone)
        return Response({"detail": exc.detail, "code": "throttled"}, status=status.HTTP_429_TOO_MANY_REQUESTS,
                        headers={"Retry-After": str(exc.seconds)})
    if isinstance(exc, Refused):
        return Response({"detail": exc.detail, "code": exc.code}, status=exc.status_code)
    if is_lock_conflict(exc):
        return Response({"detail": LOCK_CONFLICT_MESSAGE, "code": "conflict"}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, Forbidden):
        return Response({"detail": exc.detail, "code": "permission_denied"}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, DjangoValidationError):
        data = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(data, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RequestDataTooBig):  # a JSON or form body over DATA_UPLOAD_MAX_MEMORY_SIZE
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024
        return Response({"detail": f"请求内容超过 {limit} KB", "code": "too_large"},
                        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        code = _error_code(exc)
        if code is not None:
            response.data.setdefault("code", code)
    return response


def _error_code(exc) -> str | None:
    # Django's Http404 and PermissionDenied become DRF's NotFound and PermissionDenied in its handler, but
    # the exception we are given is still Django's, which has no codes.
    if isinstance(exc, Http404):
        return exceptions.NotFound.default_code
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied.default_code
    codes = exc.get_codes() if hasattr(exc, "get_codes") else None
    return codes if isinstance(codes, str) else None


class TokenRequestSerializer(serializers.Serializer):
    """`{username, password}`, or `{phone, code}` with a `login` SMS code (decision 046)."""

    username = serializers.CharField(label="用户名", max_length=User._meta.get_field("username").max_length, required=False)
    # Bounded so a megabyte "password" is not hashed; no stored password is near this long.
    password = serializers.CharField(label="密码", style={"input_type": "password"}, trim_whitespace=False, max_length=256,
                                     required=False)
    phone = serializers.CharField(label="手机号码", max_length=20, required=False)
    code = serializers.CharField(label="短信验证码", max_length=6, required=False)

    def validate(self, data):
        pair = ("phone", "code") if "phone" in data or "code" in data else ("username", "password")
        missing = {field: ["该字段是必填项。"] for field in pair if field not in data}
        if missing:
            raise serializers.ValidationError(missing)
        return {field: data[field] for field in pair}


class PublicThrottledApi(APIView):
    """For anyone, with no session or token (no CSRF to pass), counted per client address in `throttle_scope`."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ClientRateThrottle]


class TokenObtainApi(PublicThrottledApi):
    """Exchange a username and password, or a phone and its `login` SMS code, for an API token, valid
    API_TOKEN_TTL_HOURS from now; repeated failures of either lock the account out (429), and each client
    address is rate-limited with the login page."""

    throttle_scope = "login"

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: inline_serializer("TokenResponse", {"token": serializers.CharField()})},
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        django_request = request._request
        user = authenticate(django_request, **serializer.validated_data)
        if getattr(django_request, "axes_locked_out", False):
            return Response(
                {"detail": LOCKED_OUT_MESSAGE, "code": "locked_out"},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
            )
        if user is None or not user.is_active:
            if "phone" in serializer.validated_data:
                errors = getattr(django_request, "sms_login_errors", None) or {"code": ["手机号或验证码错误"]}
                return Response(errors, status=status.HTTP_400_BAD_REQUEST)
            return Response(
                {"detail": "用户名或密码错误", "code": "authentication_failed"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response({"token": api_token_issue(user=user).key})


class SmsCodeRequestSerializer(serializers.Serializer):
    phone = serializers.CharField(label="手机号码", max_length=20)
    purpose = serializers.ChoiceField(label="用途", choices=SmsPurpose.choices)


class SmsCodeApi(PublicThrottledApi):
    """Send a 6-digit SMS code (valid 5 minutes, 5 tries) for registering, signing in, resetting a password
    or the case query; limited per client address and per phone (429, nothing sent)."""

    throttle_scope = "sms_code"

    @extend_schema(
        request=SmsCodeRequestSerializer,
        responses={202: inline_serializer("SmsCodeSent", {"detail": serializers.CharField(),
                                                          "expires_in": serializers.IntegerField()}),
                   503: ERROR},
    )
    def post(self, request):
        serializer = SmsCodeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        sent = sms_code_request(**serializer.validated_data)
        seconds = int((sent.expires_at - sent.created_at).total_seconds())
        return Response({"detail": "验证码已发送", "expires_in": seconds}, status=status.HTTP_202_ACCEPTED)


class RegisterSerializer(serializers.Serializer):
    real_name = serializers.CharField(label="真实姓名", max_length=User._meta.get_field("real_name").max_length)
    id_type = serializers.ChoiceField(label="证件类型", choices=IdType.choices, default=IdType.RESIDENT_ID)
    id_number = serializers.CharField(label="证件号码", max_length=30)
    phone = serializers.CharField(label="手机号码", max_length=20)
    code = serializers.CharField(label="短信验证码", max_length=6)
    password = serializers.CharField(label="密码", style={"input_type": "password"}, trim_whitespace=False, max_length=256)


class RegisteredUserSerializer(serializers.ModelSerializer):
    id_masked = serializers.CharField(read_only=True)
    claimed = serializers.SerializerMethodField(help_text="认领了窗口登记的身份：其办件与证照已在本账户中")

    class Meta:
        model = User
        fields = ["id", "username", "real_name", "id_masked", "phone", "claimed"]

    def get_claimed(self, user) -> bool:
        return self.context["claimed"]


class RegisterApi(PublicThrottledApi):
    """Register a natural person with real name and a `register` SMS code (DESIGN §13). The ID is checked by
    its check digit; an ID held by an account is a 409; a person registered at a window is claimed when the
    name matches (their cases appear), and refused on `real_name` when it does not. Sign in afterwards with
    the phone as username, or by code."""

    throttle_scope = "login"

    @extend_schema(request=RegisterSerializer, responses={201: RegisteredUserSerializer, 409: ERROR})
    def post(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user, claimed = user_register(**serializer.validated_data)
        return Response(RegisteredUserSerializer(user, context={"claimed": claimed}).data, status=status.HTTP_201_CREATED)


class PasswordResetSerializer(serializers.Serializer):
    phone = serializers.CharField(label="手机号码", max_length=20)
    code = serializers.CharField(label="短信验证码", max_length=6)
    password = serializers.CharField(label="新密码", style={"input_type": "password"}, trim_whitespace=False, max_length=256)


class PasswordResetApi(PublicThrottledApi):
    """A new password for the applicant account of `phone`, proven by a `reset` SMS code; its API token is
    revoked."""

    throttle_scope = "login"

    @extend_schema(request=PasswordResetSerializer, responses={200: inline_serializer(
        "PasswordResetDone", {"detail": serializers.CharField(), "username": serializers.CharField()})})
    def post(self, request):
        serializer = PasswordResetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = password_reset_by_sms(**serializer.validated_data)
        return Response({"detail": "密码已重置，请用新密码登录", "username": user.username})


class LogoutApi(APIView):
    """Sign out of the API: the caller's token is deleted (so is it when they sign out on the pages)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        api_token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WorkdaysQuerySerializer(serializers.Serializer):
    start = serializers.DateField(label="起算日")
    days = serializers.IntegerField(label="工作日数", min_value=0, max_value=MAX_WORKING_DAYS)


class WorkdaysApi(APIView):
    """The `days`-th working day after `start` (the start day is not counted), as the window promises it."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter("start", str, description="起算日 YYYY-MM-DD（当日不计入）", required=True),
            OpenApiParameter("days", int, description="工作日数", required=True),
        ],
        responses={
            200: inline_serializer(
                "WorkdaysResponse",
                {
                    "start": serializers.DateField(),
                    "days": serializers.IntegerField(),
                    "date": serializers.DateField(),
                    "provisional": serializers.BooleanField(),
                },
            )
        },
    )
    def get(self, request):
        query = WorkdaysQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        start, days = query.validated_data["start"], query.validated_data["days"]
        result = WorkCalendar.load().add_working_days(start, days)
        return Response({"start": start, "days": days, "date": result.date, "provisional": result.provisional})


class NotificationSerializer(serializers.ModelSerializer):
    application = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        # sent_at: when email/SMS went out (null while it waits in the outbox).
        fields = ["id", "kind", "application", "message", "created_at", "read_at", "sent_at"]

    def get_application(self, notification) -> str | None:
        return notification.application or None


class NotificationListApi(ListAPIView):
    """The caller's own inbox, newest first; `?unread=1` for the unread ones."""

    permission_classes = [IsAuthenticated]
    serializer_class = NotificationSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Notification.objects.none()
        notifications = Notification.objects.filter(user=self.request.user)
        if self.request.query_params.get("unread") in ("1", "true"):
            notifications = notifications.filter(read_at__isnull=True)
        return notifications


class NotificationReadApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=NotificationSerializer)
    def post(self, request, notification_id):
        try:
            notification = notification_mark_read(user=request.user, notification_id=notification_id)
        except Notification.DoesNotExist as error:
            raise Http404("通知不存在") from error
        return Response(NotificationSerializer(notification).data)
