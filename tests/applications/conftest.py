"""Upload storage for the applications tests; the case fixtures (item, clerk, draft, submitted …) are shared by
every folder: tests/case_fixtures.py."""

import errno
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage

# 开办餐饮店, the 一件事 of the bundle tests (a module may define its own `bundle`, `food` … instead).
from tests.applications.bundle_fixtures import bundle, food, food_dept, submitted_parent, tax, tax_dept  # noqa: F401

# Where test modules used to import the file helpers from; tests/files.py is their home now.
from tests.files import build_pdf, pdf_bytes, pdf_file, png_bytes, stored_files, upload  # noqa: F401


@pytest.fixture
def media(settings, tmp_path):
    """Uploads go to a folder of the test's own, so a test can see every file that was (not) kept."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


class DiskFullStorage(FileSystemStorage):
    """The outside world with a full disk: the first bytes land, then the write fails with ENOSPC."""

    def _save(self, name, content):
        path = Path(self.path(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            handle.write(next(iter(content.chunks()))[:100])
            raise OSError(errno.ENOSPC, "No space left on device")


@pytest.fixture
def full_disk(settings, media):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": f"{__name__}.DiskFullStorage", "OPTIONS": {"location": str(media)}}}
    return media
