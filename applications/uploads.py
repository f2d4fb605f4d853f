"""What an uploaded material really is, decided by parsing its bytes, never by its name or declared type.

A PDF is parsed (pyHanko's reader, strict) and every object reachable from its trailer is looked at: scripts,
launch/submit actions and embedded files are refused, and so is anything after the last `%%EOF`. An image
is decoded (not only its header read) within a pixel limit, and nothing may follow its end marker.
docs/decisions/040-upload-inspection-and-csp.md says what is refused and why.
"""

import contextlib
import hashlib
import io
import logging
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.decode_limits import DecodePurpose
from pyhanko.pdf_utils.reader import PdfFileReader

from portal.errors import StorageUnavailable
from portal.files import STORAGE_ERRORS, storage_discard

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
# An A4 page scanned at 600 dpi is about 35 megapixels; 50 leaves room for A3 at 400 dpi and bounds the
# memory one decode may take (~150 MB of RGB). PIL's own bomb check only errors at twice its 89 MP default.
MAX_IMAGE_PIXELS = 50_000_000
# A 300-page document has a few thousand objects; far more is a file built to be slow (≈ 0.15 ms each).
MAX_PDF_OBJECTS = 20_000

# Magic numbers of the accepted formats.
SIGNATURES = [
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
]
PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}

NOT_A_PDF = "PDF 文件不完整或已损坏，无法解析"
PDF_ACTIVE = "PDF 含有脚本（JavaScript）或启动程序、提交数据等动作，不能作为申请材料；请打印为普通 PDF 或扫描后重新上传"
PDF_EMBEDDED = "PDF 含有嵌入的附件文件，不能作为申请材料；请把每份材料单独上传"
PDF_TRAILING = "PDF 文件结束标记之后还附加了其他内容，不能作为申请材料"
PDF_ENCRYPTED = "PDF 已加密或设置了权限密码，无法检查内容；请取消加密后重新上传"
PDF_TOO_COMPLEX = "PDF 结构过于复杂，无法检查；请打印为普通 PDF 或扫描后重新上传"
HTML_INSIDE = "文件中含有网页代码，不能作为申请材料"
IMAGE_BROKEN = "图片文件已损坏，无法识别"
IMAGE_TRAILING = "图片文件结束标记之后还附加了其他内容，不能作为申请材料；请重新拍照或扫描后上传"
IMAGE_TOO_LARGE = f"图片像素过大，不能超过 {MAX_IMAGE_PIXELS // 10_000} 万像素；请降低扫描分辨率后重新上传"

# A browser that sniffs (or a viewer that ignores the type) must not find markup where a PDF begins.
HTML_MARKUP = re.compile(rb"<\s*(?:!doctype|html|head|body|script|iframe|svg|object|embed)\b", re.IGNORECASE)
# PDF white-space (ISO 32000-1 §7.2.2): all that may follow the final %%EOF.
PDF_WHITESPACE = b"\x00\t\n\x0c\r "

# What a viewer would run or open: script and launch-like actions, and the places files hide in.
ACTIVE_KEYS = {"/JS", "/JavaScript", "/XFA"}
ACTIVE_ACTIONS = {"/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/GoToE", "/RichMediaExecute"}
EMBEDDED_KEYS = {"/EmbeddedFiles", "/EF"}
EMBEDDED_TYPES = {"/EmbeddedFile", "/FileAttachment", "/RichMedia"}


@dataclass(frozen=True)
class InspectedUpload:
    content_type: str
    size: int
    sha256: str


def _refuse(message: str):
    return ValidationError({"file": [message]})


def inspect_upload(upload) -> InspectedUpload:
    """Raise ValidationError({"file": …}) unless the file is a clean PDF, JPEG or PNG of at most 20 MB."""
    if upload is None:
        raise _refuse("请选择要上传的文件")
    if upload.size > MAX_UPLOAD_BYTES:
        raise _refuse(f"文件过大（{upload.size / 1048576:.1f} MB），单个文件不能超过 20 MB")
    if upload.size == 0:
        raise _refuse("文件为空")
    upload.seek(0)
    data = upload.read()  # at most 20 MB: parsed from memory once, hashed from the same bytes
    upload.seek(0)
    content_type = next((kind for magic, kind in SIGNATURES if data.startswith(magic)), None)
    if content_type is None:
        raise _refuse("文件格式不支持：仅接受 PDF、JPEG、PNG（按文件内容识别，改扩展名无效）")
    if content_type == "application/pdf":
        _check_pdf(data)
    else:
        _check_image(data, content_type)
    return InspectedUpload(content_type=content_type, size=len(data), sha256=hashlib.sha256(data).hexdigest())


@contextlib.contextmanager
def stored_upload(field_file, upload) -> Iterator[str]:
    """Write the upload where the file field would, and yield the stored name; the block then saves the
    rows that point at it. A write that fails (disk full, bucket down) leaves no partial file and answers
    StorageUnavailable; a block that fails takes the file away again, so no file outlives its row."""
    name = field_file.field.generate_filename(field_file.instance, "upload")
    storage = field_file.storage
    try:
        stored = storage.save(name, upload, max_length=field_file.field.max_length)
    except STORAGE_ERRORS as error:
        logger.error("upload not stored, %s removed: %r", name, error)
        # Names are random (material_upload_to), so whatever is there was written by this request.
        storage_discard(storage, name)
        raise StorageUnavailable("文件存储失败（存储空间不足或暂时不可用），本次上传未保存，请稍后重新上传") from error
    setattr(field_file.instance, field_file.field.attname, stored)
    try:
        yield stored
    except BaseException:
        storage_discard(storage, stored)
        raise


# --- PDF ----------------------------------------------------------------------------------------------


class _Reader(PdfFileReader):
    """pyHanko's reader, reading each object stream's offset table once.

    pyHanko re-reads the table for every object it takes from the stream, which is quadratic in the
    stream's /N: a 20 MB file of tiny objects would keep a worker busy for hours.
    """

    def __init__(self, stream):
        self._object_stream_tables = {}
        super().__init__(stream, strict=True)

    def _get_object_from_stream(self, idnum, stmnum, idx):
        table = self._object_stream_tables.get(stmnum)
        if table is None:
            stream = generic.Reference(stmnum, 0, self).get_object()
            if not isinstance(stream, generic.StreamObject) or stream.get("/Type") != "/ObjStm":
                raise ValueError("object stream expected")
            data = stream.read_data(DecodePurpose.OBJECT_STREAM)
            first = int(stream["/First"])
            numbers = [int(n) for n in re.findall(rb"\d+", data[:first])]
            offsets = dict(zip(numbers[0::2], numbers[1::2]))
            table = self._object_stream_tables[stmnum] = (io.BytesIO(data), first, offsets)
        buffer, first, offsets = table
        if idnum not in offsets:
            raise ValueError(f"object {idnum} is not in object stream {stmnum}")
        buffer.seek(first + offsets[idnum])
        obj = generic.read_object(buffer, generic.Reference(idnum, 0, self))
        if isinstance(obj, (generic.StreamObject, generic.IndirectObject)):
            raise ValueError("a stream or reference cannot live in an object stream")
        return obj


def _check_pdf(data: bytes) -> None:
    if HTML_MARKUP.search(data, 0, 1024):
        raise _refuse(HTML_INSIDE)
    end = data.rfind(b"%%EOF")
    if end < 0:
        raise _refuse(NOT_A_PDF)
    if data[end + 5:].strip(PDF_WHITESPACE):
        # Incremental updates end in their own %%EOF, so only a payload glued on after the document is here.
        raise _refuse(PDF_TRAILING)
    try:
        reader = _Reader(io.BytesIO(data))
        if reader.encrypted:
            raise _refuse(PDF_ENCRYPTED)
        problem = _active_content(reader)
    except ValidationError:
        raise
    except Exception as error:  # noqa: BLE001 — hostile bytes may break a parser in any way; all mean "not a PDF"
        logger.info("upload refused: PDF does not parse: %r", error)
        raise _refuse(NOT_A_PDF) from error
    if problem is not None:
        raise _refuse(problem)


def _active_content(reader: PdfFileReader) -> str | None:
    """Walk every object reachable from the trailer (what a viewer can reach) and name the first reason
    to refuse: a script or launch-like action, or an embedded file."""
    seen: set[tuple[int, int]] = set()
    stack: list = [reader.trailer_view]
    while stack:
        obj = stack.pop()
        if isinstance(obj, generic.IndirectObject):
            key = (obj.idnum, obj.generation)
            if key in seen:
                continue
            seen.add(key)
            if len(seen) > MAX_PDF_OBJECTS:
                return PDF_TOO_COMPLEX
            obj = obj.get_object()
        if isinstance(obj, generic.DictionaryObject):  # stream dictionaries included; their data is not read
            keys = obj.keys()
            if not ACTIVE_KEYS.isdisjoint(keys) or _name(obj, "/S") in ACTIVE_ACTIONS:
                return PDF_ACTIVE
            if not EMBEDDED_KEYS.isdisjoint(keys) or {_name(obj, "/Type"), _name(obj, "/Subtype")} & EMBEDDED_TYPES:
                return PDF_EMBEDDED
            stack.extend(dict.values(obj))  # raw values: references are followed (once) by this loop
        elif isinstance(obj, generic.ArrayObject):
            stack.extend(list.__iter__(obj))
    return None


def _name(dictionary: generic.DictionaryObject, key: str) -> str | None:
    value = dict.get(dictionary, key)
    if isinstance(value, generic.IndirectObject):
        value = value.get_object()
    return str(value) if isinstance(value, generic.NameObject) else None


# --- images -----------------------------------------------------------------------------------------


def _check_image(data: bytes, content_type: str) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[PIL_FORMATS[content_type]]) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise _refuse(IMAGE_TOO_LARGE)
                if image.format in ("JPEG", "MPO"):
                    # libjpeg still reads every coefficient but skips most of the inverse DCT at 1/8 scale.
                    image.draft(None, (max(1, width // 8), max(1, height // 8)))
                image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _refuse(IMAGE_TOO_LARGE) from error
    except ValidationError:
        raise
    except Exception as error:  # noqa: BLE001 — as for PDFs: any decoder failure means a broken image
        logger.info("upload refused: image does not decode: %r", error)
        raise _refuse(IMAGE_BROKEN) from error
    end = _jpeg_end(data) if content_type == "image/jpeg" else _png_end(data)
    if end is None:
        raise _refuse(IMAGE_BROKEN)
    if end < len(data):
        raise _refuse(IMAGE_TRAILING)


def _png_end(data: bytes) -> int | None:
    """Offset just past the IEND chunk, walking the chunks by their lengths."""
    position = 8
    while position + 12 <= len(data):
        length = int.from_bytes(data[position:position + 4], "big")
        kind = data[position + 4:position + 8]
        position += 12 + length
        if kind == b"IEND":
            return position if position <= len(data) else None
    return None


# In entropy-coded data 0xFF is followed by 0x00 (stuffing) or a restart marker; anything else is a marker.
JPEG_MARKER = re.compile(rb"\xff+[^\x00\xd0-\xd7\xff]")
JPEG_PADDING = b"\x00\xff\t\n\r "


def _jpeg_end(data: bytes) -> int | None:
    """Offset where the JPEG really ends, or None when its structure is broken. Frames a camera appends
    under MPF (the second picture of a multi-picture file, an HDR gain map) count as part of the image;
    trivial padding after the last one is ignored."""
    end, multi_picture = _jpeg_frame_end(data, 0)
    frames = 0
    while end is not None and multi_picture and frames < 8 and data.startswith(b"\xff\xd8", end):
        end, _ = _jpeg_frame_end(data, end)
        frames += 1
    if end is None or data[end:].strip(JPEG_PADDING):
        return end
    return len(data)


def _jpeg_frame_end(data: bytes, start: int) -> tuple[int | None, bool]:
    """Offset just past one frame's EOI marker, walking the segments by their lengths (an EOI inside an
    Exif thumbnail or a comment is not the end), and whether the frame declares MPF."""
    position, multi_picture = start + 2, False
    while True:
        if position >= len(data) or data[position] != 0xFF:
            return None, multi_picture
        while position < len(data) and data[position] == 0xFF:
            position += 1  # fill bytes before a marker
        if position >= len(data):
            return None, multi_picture
        marker = data[position]
        position += 1
        if marker == 0xD9:  # EOI
            return position, multi_picture
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            continue  # markers without a length
        if position + 2 > len(data):
            return None, multi_picture
        length = int.from_bytes(data[position:position + 2], "big")
        if marker == 0xE2 and data[position + 2:position + 6] == b"MPF\x00":
            multi_picture = True
        position += length
        if marker == 0xDA:  # SOS: entropy-coded data runs to the next real marker
            found = JPEG_MARKER.search(data, position)
            if found is None:
                return None, multi_picture
            position = found.end() - 2
