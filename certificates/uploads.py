"""What a file uploaded for verification must be: a PDF (by its bytes, not its name) of at most 20 MB."""

from django.core.exceptions import ValidationError

MAX_VERIFY_BYTES = 20 * 1024 * 1024


def read_pdf_upload(upload) -> bytes:
    """The uploaded file's bytes, or ValidationError({"file": …}) naming what is wrong in Chinese."""
    if upload is None:
        raise ValidationError({"file": ["请选择要核验的 PDF 文件"]})
    if upload.size > MAX_VERIFY_BYTES:
        raise ValidationError({"file": [f"文件过大（{upload.size / 1048576:.1f} MB），不能超过 20 MB"]})
    if upload.size == 0:
        raise ValidationError({"file": ["文件为空"]})
    upload.seek(0)
    if not upload.read(5) == b"%PDF-":
        raise ValidationError({"file": ["只能核验 PDF 格式的电子证照文件（按文件内容识别，改扩展名无效）"]})
    upload.seek(0)
    return b"".join(upload.chunks())
