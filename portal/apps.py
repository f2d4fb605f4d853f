from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "平台基础"

    def ready(self):
        # Connects the Celery signal receivers (request id on tasks, timer runs) in every process.
        # Connects the sign-out receiver that deletes the user's API token.
        from portal import (
            authentication,  # noqa: F401
            observability,  # noqa: F401
        )
