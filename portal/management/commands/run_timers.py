from django.conf import settings
from django.core.management.base import BaseCommand

from portal.celery import app


class Command(BaseCommand):
    help = "立即执行一轮全部定时任务（与 Celery beat 的计划相同）"

    def handle(self, *args, **options):
        app.loader.import_default_modules()  # autodiscovery: every app's tasks.py
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
            result = app.tasks[entry["task"]].apply(args=entry.get("args", ()), kwargs=entry.get("kwargs", {}))
            result.get(propagate=True)
            self.stdout.write(f"{name}: {result.result}")
