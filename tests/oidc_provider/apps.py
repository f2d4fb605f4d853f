from django.apps import AppConfig


class IdentityProviderConfig(AppConfig):
    # Not "oidc_provider": that label is the library's.
    name = "tests.oidc_provider"
    label = "identity_provider"
    default_auto_field = "django.db.models.BigAutoField"
