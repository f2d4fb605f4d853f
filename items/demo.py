"""Demo catalogue for 长春市 (loaded by `manage.py loaddemo` after portal's departments and halls).

The data lives in items/demo/catalogue.json and goes through the real importer, so every demo load
exercises it; blank forms and samples in items/demo/files/ are copied into storage first. Idempotent:
a second load finds nothing changed and writes nothing.
"""

import json
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage

from items.services import catalogue_import

DEMO_DIR = Path(__file__).resolve().parent / "demo"
STORAGE_PREFIX = "items/demo/"


def load() -> list[str]:
    for path in sorted((DEMO_DIR / "files").iterdir()):
        name = STORAGE_PREFIX + path.name
        if not default_storage.exists(name):
            with path.open("rb") as handle:
                default_storage.save(name, File(handle))
    data = json.loads((DEMO_DIR / "catalogue.json").read_text(encoding="utf-8"))
    catalogue_import(data=data, actor=None)
    return []
