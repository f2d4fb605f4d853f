from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    # At the root: the discovery document is /.well-known/openid-configuration, the issuer the bare address.
    path("", include("oidc_provider.urls", namespace="oidc_provider")),
]
