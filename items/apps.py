from django.apps import AppConfig


class ItemsConfig(AppConfig):
    name = "items"
    verbose_name = "事项目录"

    def ready(self):
        # Connects the receivers that give the catalogue a new generation when a shown row changes, in every
        # process that writes (web, worker, manage.py), not only in those that serve the API.
        from items import cache  # noqa: F401
