"""What a test gives the processes it starts (manage.py commands, gunicorn, a Celery worker) so they work on
this test's own database and media folder, as a deployment configures them: by environment."""

from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection


def environment(database: str, media: Path) -> dict[str, str]:
    """The database by URL, the media folder, the master key from the secret store."""
    config = connection.settings_dict
    password = f":{quote(config['PASSWORD'], safe='')}" if config["PASSWORD"] else ""
    return {
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "DATABASE_URL": f"postgres://{quote(config['USER'], safe='')}{password}@{config['HOST']}:{config['PORT']}/{database}",
        "MEDIA_ROOT": str(media),
        "SEAL_MASTER_KEY": settings.SEAL_MASTER_KEY,
    }
