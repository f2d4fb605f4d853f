from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "平台基础"

    def ready(self):
        # Connect the sign-out receiver that deletes the user's API token, and the Celery signal receivers
        # (request id on tasks, timer runs), in every process.
        from portal import authentication, observability  # noqa: F401
