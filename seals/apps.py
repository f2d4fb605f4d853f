from django.apps import AppConfig


class SealsConfig(AppConfig):
    name = "seals"
    verbose_name = "印章与签发"

    def ready(self):
        from seals import checks  # noqa: F401  (registers the master-key check)
