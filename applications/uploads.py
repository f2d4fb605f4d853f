"""What an uploaded material really is, decided by its bytes, never by its name or declared type."""

import hashlib
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from PIL import Image, UnidentifiedImageError

MAX_UPLOAD_BYTES = 20 * 1024 * 1024

# Magic numbers of the accepted formats.
SIGNATURES = [
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
]


@dataclass(frozen=True)
class InspectedUpload:
    content_type: str
    size: int
    sha256: str


def inspect_upload(upload) -> InspectedUpload:
    """Raise ValidationError({"file": …}) unless the file is a real PDF, JPEG or PNG of at most 20 MB."""
    if upload is None:
        raise ValidationError({"file": ["请选择要上传的文件"]})
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError({"file": [f"文件过大（{upload.size / 1048576:.1f} MB），单个文件不能超过 20 MB"]})
    if upload.size == 0:
        raise ValidationError({"file": ["文件为空"]})
    upload.seek(0)
    head = upload.read(16)
    content_type = next((kind for magic, kind in SIGNATURES if head.startswith(magic)), None)
    if content_type is None:
        raise ValidationError({"file": ["文件格式不支持：仅接受 PDF、JPEG、PNG（按文件内容识别，改扩展名无效）"]})
    upload.seek(0)
    if content_type == "application/pdf":
        _check_pdf(upload)
    else:
        _check_image(upload, content_type)
    upload.seek(0)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return InspectedUpload(content_type=content_type, size=upload.size, sha256=digest.hexdigest())


def _check_pdf(upload):
    # A PDF ends with %%EOF (within the last KB, allowing trailing whitespace or junk some writers add).
    upload.seek(max(0, upload.size - 1024))
    if b"%%EOF" not in upload.read():
        raise ValidationError({"file": ["PDF 文件不完整或已损坏"]})


def _check_image(upload, content_type):
    try:
        with Image.open(upload) as image:
            image.verify()
            actual = Image.MIME.get(image.format)
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValidationError({"file": ["图片文件已损坏，无法识别"]}) from error
    if actual != content_type:
        raise ValidationError({"file": ["图片格式与文件内容不符"]})
