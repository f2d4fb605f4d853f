"""API tokens that expire and end with the session (docs/decisions/041-throttles-and-input-limits.md).

A token is valid for API_TOKEN_TTL_HOURS after the last sign-in that issued it (`created` is moved on each
successful `POST auth/token/`); past that it is deleted on first use and the caller gets 401. Signing out,
on the pages or through `POST auth/logout/`, deletes it.
"""

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from portal.services import api_token_expired, api_token_revoke

EXPIRED_MESSAGE = "登录凭证已过期，请重新获取"


class TokenRejected(exceptions.APIException):
    """401 with `WWW-Authenticate: Token`. DRF turns AuthenticationFailed into a 403 whenever session
    authentication is listed first (it has no challenge to offer); a token that was sent and is no good
    is a 401 (DESIGN §10), so the client knows to obtain a new one."""

    status_code = 401
    default_code = "authentication_failed"
    auth_header = "Token"


class ExpiringTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        try:
            user, token = super().authenticate_credentials(key)
        except exceptions.AuthenticationFailed as error:  # unknown (signed out) or inactive user
            raise TokenRejected(error.detail) from error
        if api_token_expired(token):
            api_token_revoke(user=user)
            raise TokenRejected(EXPIRED_MESSAGE, code="token_expired")
        return user, token


@receiver(user_logged_out, dispatch_uid="portal.authentication.revoke_tokens_on_logout")
def _revoke_tokens_on_logout(sender, request, user, **kwargs):
    if user is not None:
        api_token_revoke(user=user)
