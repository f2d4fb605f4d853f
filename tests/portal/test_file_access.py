"""Files go through Django's storage API only (DESIGN §16, decision 060): no application code reaches a stored
file by its path on disk, which would break the moment files live in a bucket. A grep that keeps it so."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ["applications", "certificates", "items", "organisations", "portal", "seals"]
# Where the media folder may be named: the settings that define it.
ALLOWED = {"portal/settings/base.py"}

FORBIDDEN = {
    "MEDIA_ROOT": re.compile(r"\bMEDIA_ROOT\b"),
    "a stored file's path (FieldFile.path, storage.path())": re.compile(
        r"\b\w*(?:file|pdf|blank_form|sample|attorney_letter|storage)\.path\b|\bstorages\[[^\]]+\]\.path\b"),
    "a storage class chosen in code instead of STORAGES": re.compile(r"\bFileSystemStorage\b|\bS3Storage\b"),
}


def offences(text: str) -> list[str]:
    return [what for what, pattern in FORBIDDEN.items() if pattern.search(text)]


def app_sources() -> list[Path]:
    return [path for app in APPS for path in (ROOT / app).rglob("*.py") if "migrations" not in path.parts]


def test_no_application_code_reaches_a_stored_file_by_its_path():
    found = [
        f"{path.relative_to(ROOT)}:{number}: {what}: {line.strip()}"
        for path in app_sources() if path.relative_to(ROOT).as_posix() not in ALLOWED
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        for what in offences(line)
    ]
    assert found == [], "files go through the storage API (decision 060):\n" + "\n".join(found)


def test_the_patterns_catch_what_they_are_for():
    """So the test above means something: each way of reaching the disk it forbids is caught."""
    assert offences("root = Path(settings.MEDIA_ROOT)") == ["MEDIA_ROOT"]
    assert offences("open(material.file.path, 'rb')") == ["a stored file's path (FieldFile.path, storage.path())"]
    assert offences("default_storage.path(name)") == ["a stored file's path (FieldFile.path, storage.path())"]
    assert offences("Path(field_file.path)") == ["a stored file's path (FieldFile.path, storage.path())"]
    assert offences("certificate.pdf.path") == ["a stored file's path (FieldFile.path, storage.path())"]
    assert offences("FileSystemStorage(location=folder)") == ["a storage class chosen in code instead of STORAGES"]
    assert offences("with default_storage.open(name) as handle:") == []
    assert offences("return request.path.startswith('/api/')") == []
    assert len(app_sources()) > 100
