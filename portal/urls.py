from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from applications.public_urls import api_urlpatterns as public_query_api
from portal import account_views, apis, views
from portal.metrics import MetricsView
from portal.throttles import throttle_page

api_v1 = [
    path("auth/token/", apis.TokenObtainApi.as_view(), name="token"),
    path("auth/logout/", apis.LogoutApi.as_view(), name="logout"),
    path("auth/sms-code/", apis.SmsCodeApi.as_view(), name="sms-code"),
    path("auth/register/", apis.RegisterApi.as_view(), name="register"),
    path("auth/password-reset/", apis.PasswordResetApi.as_view(), name="password-reset"),
    path("workdays/", apis.WorkdaysApi.as_view(), name="workdays"),
    path("notifications/", apis.NotificationListApi.as_view(), name="notification-list"),
    path("notifications/<int:notification_id>/read/", apis.NotificationReadApi.as_view(), name="notification-read"),
    path("", include("items.api_urls")),
    path("", include("organisations.api_urls")),
    # Before applications': `applications/<number>/issue/` belongs to seals, the only app that stamps.
    path("", include("seals.api_urls")),
    path("", include("certificates.api_urls")),
    path("", include("applications.api_urls")),
    path("", include(public_query_api)),  # GET query/: 办件查询 without signing in (DESIGN §13)
]

urlpatterns = [
    # First: the API is the hot path, and every "" include below would be tried before it otherwise.
    path("api/v1/", include((api_v1, "api"))),
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", MetricsView.as_view(), name="metrics"),
    path("inbox/", views.inbox, name="inbox"),
    path("text-size/", views.text_size, name="text-size"),
    path("inbox/<int:notification_id>/", views.inbox_open, name="inbox-open"),
    path("inbox/<int:notification_id>/read/", views.inbox_read, name="inbox-read"),
    # Sign-in attempts count per client address with the token endpoint's (scope "login").
    path("accounts/login/", throttle_page("login", methods=("POST",))(
        auth_views.LoginView.as_view(redirect_authenticated_user=True)), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Registration, sign-in by SMS code, password reset by SMS code (decision 046); each counts its own limits.
    path("accounts/register/", account_views.register, name="register"),
    path("accounts/login/sms/", account_views.login_sms, name="login-sms"),
    path("accounts/reset/", account_views.password_reset, name="password-reset"),
    path("admin/", admin.site.urls),
    path("guide/", include("items.urls")),
    path("organisations/", include("organisations.urls")),
    path("", include("applications.urls")),
    path("", include("applications.public_urls")),  # query/
    path("", include("certificates.urls")),
    path("", include("seals.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file, so the docs page keeps the strict CSP.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="portal/swagger_ui.html"),
         name="swagger-ui"),
]

# 统一身份认证 (decision 048): the OIDC sign-in and its callback exist only when a client id is configured.
if settings.OIDC_RP_CLIENT_ID:
    urlpatterns.append(path("oidc/", include("mozilla_django_oidc.urls")))

handler404 = views.not_found

admin.site.site_header = "一网通办 政务服务平台管理"
admin.site.site_title = "一网通办管理"
admin.site.index_title = "平台管理"
