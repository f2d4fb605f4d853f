"""Stored files, through Django's storage API only (DESIGN §16, decision 060): the same code for local disk and
an S3-compatible bucket. Nothing here (or anywhere outside settings) builds a path into the media folder;
tests/portal/test_file_access.py keeps it so."""

import hashlib
import logging
import posixpath
from collections.abc import Iterator

from botocore.exceptions import BotoCoreError, ClientError
from django.core.files.storage import Storage

logger = logging.getLogger(__name__)

# What a storage raises when it cannot write or read: a full or read-only disk, a bucket that is down,
# refuses the credentials or times out.
STORAGE_ERRORS = (OSError, BotoCoreError, ClientError)


def storage_label(storage: Storage) -> str:
    """Where a storage keeps its files, as an operator would name it."""
    bucket = getattr(storage, "bucket_name", None)
    if bucket:
        endpoint = getattr(storage, "endpoint_url", None)
        return f"对象存储桶 {bucket}" + (f"（{endpoint}）" if endpoint else "")
    return f"媒体文件夹 {storage.location}"


def storage_walk(storage: Storage, folder: str = "") -> Iterator[str]:
    """Every stored file's name, folder by folder in name order; nothing for a folder that does not exist."""
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in sorted(files):
        yield posixpath.join(folder, name) if folder else name
    for name in sorted(folders):
        yield from storage_walk(storage, posixpath.join(folder, name) if folder else name)


def storage_is_empty(storage: Storage) -> bool:
    return next(storage_walk(storage), None) is None


def storage_sha256(storage: Storage, name: str) -> str:
    """The stored file's SHA-256, read in chunks (never the whole file in memory)."""
    digest = hashlib.sha256()
    with storage.open(name, "rb") as handle:
        for chunk in handle.chunks():
            digest.update(chunk)
    return digest.hexdigest()


def storage_discard(storage: Storage, name: str) -> None:
    """Remove what a failed write may have left under `name`; a failure to remove is logged, not raised (the
    caller is already answering the first failure)."""
    try:
        if storage.exists(name):
            storage.delete(name)
    except STORAGE_ERRORS:
        logger.exception("could not remove %s after a failed write", name)
