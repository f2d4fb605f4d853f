"""Uploads: PDF/JPEG/PNG by content, ≤ 20 MB; anything else is a 400 naming the field, and nothing is stored."""

import hashlib
import io
import time
import zlib

import pytest
import weasyprint
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.writer import PdfFileWriter

from applications.models import Material
from applications.uploads import (
    HTML_INSIDE,
    IMAGE_TOO_LARGE,
    IMAGE_TRAILING,
    NOT_A_PDF,
    PDF_ACTIVE,
    PDF_EMBEDDED,
    PDF_ENCRYPTED,
    PDF_TRAILING,
    stored_upload,
)
from portal.models import AuditEvent
from seals.services import seal_ca_init, seal_create
from seals.signing import SealSigner
from tests.files import build_pdf, pdf_bytes, png_bytes, stored_files, upload

pytestmark = pytest.mark.django_db


def jpeg_bytes():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [("a.pdf", pdf_bytes(), "application/pdf"), ("b.png", png_bytes(), "image/png"), ("c.jpg", jpeg_bytes(), "image/jpeg"),
     # Recognised by content: a PNG named .pdf is still a PNG.
     ("renamed.pdf", png_bytes(), "image/png")],
)
def test_accepted_formats(as_user, citizen, draft, requirements, name, content, content_type):
    response = upload(as_user(citizen), draft, requirements["营业执照"], SimpleUploadedFile(name, content))
    assert response.status_code == 201, response.content
    material = Material.objects.get(pk=response.json()["id"])
    assert material.content_type == content_type and material.original_name == name
    assert material.file.read() == content
    # Stored under a random name, never the applicant's.
    assert name not in material.file.name


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("virus.pdf", b"MZ\x90\x00\x03" + b"\x00" * 100, "文件格式不支持"),
        ("page.pdf", b"<html><body>not a pdf</body></html>", "文件格式不支持"),
        ("truncated.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\n", "PDF 文件不完整"),
        ("broken.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "图片文件已损坏"),
        ("empty.pdf", b"", "文件为空"),
    ],
)
def test_disguised_or_broken_files_are_refused(as_user, citizen, draft, requirements, name, content, message):
    events = AuditEvent.objects.count()
    response = upload(as_user(citizen), draft, requirements["营业执照"], SimpleUploadedFile(name, content))
    assert response.status_code == 400
    assert message in str(response.json()["file"])
    assert not Material.objects.exists()
    assert AuditEvent.objects.count() == events


def test_oversized_file_is_refused(as_user, citizen, draft, requirements):
    big = pdf_bytes() + b"0" * (20 * 1024 * 1024)
    response = upload(as_user(citizen), draft, requirements["营业执照"], SimpleUploadedFile("big.pdf", big))
    assert response.status_code == 400 and "20 MB" in str(response.json()["file"])
    assert not Material.objects.exists()


def test_requirement_of_another_item_is_refused(as_user, citizen, draft):
    response = upload(as_user(citizen), draft, 987654)
    assert response.status_code == 400 and "requirement" in response.json()


def test_missing_file_names_the_field(as_user, citizen, draft, requirements):
    response = as_user(citizen).post(f"/api/v1/applications/{draft}/materials/", {"requirement": requirements["营业执照"]}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()


def test_upload_after_submission_is_409(as_user, citizen, submitted, requirements):
    response = upload(as_user(citizen), submitted, requirements["营业执照"])
    assert response.status_code == 409
    assert Material.objects.filter(application__number=submitted).count() == 2


def test_replacement_keeps_earlier_versions(as_user, citizen, draft, requirements):
    client = as_user(citizen)
    first = upload(client, draft, requirements["营业执照"]).json()
    second = upload(client, draft, requirements["营业执照"], SimpleUploadedFile("v2.png", png_bytes())).json()
    assert (first["version"], second["version"]) == (1, 2)
    body = client.get(f"/api/v1/applications/{draft}/").json()
    row = next(m for m in body["materials"] if m["name"] == "营业执照")
    assert [f["version"] for f in row["files"]] == [2, 1]
    assert client.get(first["url"]).status_code == 200


# --- content checked by parsing (issue 14, decision 040) ----------------------------------------------


def jpeg_scan(width=1240, height=1754) -> bytes:
    """An ordinary scan: an A4 page at 150 dpi with some texture, as a phone or a scanner writes it."""
    buffer = io.BytesIO()
    page = Image.effect_noise((width // 16, height // 16), 40).resize((width, height)).convert("RGB")
    page.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


def png_claiming(width: int, height: int) -> bytes:
    """A few hundred bytes that claim a huge picture: what a decompression bomb looks like to the header."""
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])  # 8-bit grey
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header)
            + png_chunk(b"IDAT", zlib.compress(b"\x00" * 4096, 9)) + png_chunk(b"IEND", b""))


def pdf_with_compressed_objects(*, script: bool, count: int = 3) -> bytes:
    """A PDF whose objects sit in a compressed object stream (as Word and Acrobat write them): a name
    inside can only be seen by parsing the file, never by searching its bytes."""
    writer = PdfFileWriter(stream_xrefs=True)
    stream = writer.prepare_object_stream()
    filler = [writer.add_object(generic.DictionaryObject({generic.pdf_name("/N"): generic.NumberObject(n)}), obj_stream=stream)
              for n in range(count)]
    writer.root[generic.pdf_name("/Filler")] = generic.ArrayObject(filler)
    if script:
        action = generic.DictionaryObject({generic.pdf_name("/S"): generic.pdf_name("/JavaScript"),
                                           generic.pdf_name("/JS"): generic.pdf_string("app.alert(1)")})
        writer.root[generic.pdf_name("/OpenAction")] = writer.add_object(action, obj_stream=stream)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def embedded_file_pdf() -> bytes:
    return build_pdf(
        b"<</Names[(readme.exe) 5 0 R]>>",
        b"<</Type/Filespec/F(readme.exe)/EF<</F 6 0 R>>>>",
        b"<</Type/EmbeddedFile/Length 2>>\nstream\nMZ\nendstream",
        catalog=b"/Names<</EmbeddedFiles 4 0 R>>",
    )


HTML = b"<html><body><script>fetch('/api/v1/applications/').then(r=>r.text()).then(alert)</script></body></html>"

HOSTILE = {
    "open_action_javascript": (build_pdf(b"<</S/JavaScript/JS(app.alert(1))>>", catalog=b"/OpenAction 4 0 R"), PDF_ACTIVE),
    "javascript_name_tree": (build_pdf(b"<</Names[(init) 5 0 R]>>", b"<</S/JavaScript/JS(this.print())>>",
                                       catalog=b"/Names<</JavaScript 4 0 R>>"), PDF_ACTIVE),
    "page_open_launches": (build_pdf(page=b"/AA<</O<</S/Launch/F(cmd.exe)>>>>"), PDF_ACTIVE),
    "link_runs_script": (build_pdf(b"<</Type/Annot/Subtype/Link/Rect[0 0 99 99]/A<</S/JavaScript/JS 5 0 R>>>>",
                                   b"(app.launchURL('x'))", page=b"/Annots[4 0 R]"), PDF_ACTIVE),
    "script_in_compressed_object": (pdf_with_compressed_objects(script=True), PDF_ACTIVE),
    "embedded_file": (embedded_file_pdf(), PDF_EMBEDDED),
    "file_attachment_annotation": (build_pdf(b"<</Type/Annot/Subtype/FileAttachment/Rect[0 0 9 9]/FS(a.exe)>>",
                                             page=b"/Annots[4 0 R]"), PDF_EMBEDDED),
    "polyglot_html": (b"%PDF-1.4\n" + HTML + b"\n%%EOF\n", HTML_INSIDE),
    "polyglot_html_after_a_comment": (b"%PDF-1.4\n%" + b"x" * 2000 + b"\n" + HTML + b"\n%%EOF\n", NOT_A_PDF),
    "html_after_eof": (build_pdf(comment="扫描件" * 400) + HTML, PDF_TRAILING),
    "jpeg_with_html": (jpeg_scan(300, 400) + HTML, IMAGE_TRAILING),
    # A second EOI after the payload fools a "last FFD9" search, not a walk of the segments.
    "jpeg_with_html_and_eoi": (jpeg_scan(300, 400) + HTML + b"\xff\xd9", IMAGE_TRAILING),
    "png_with_trailer": (png_bytes() + HTML, IMAGE_TRAILING),
    "png_30000_by_30000": (png_claiming(30000, 30000), IMAGE_TOO_LARGE),
    # Under PIL's own warning threshold (89 MP) but over ours: only our check stands in the way.
    "png_8000_by_8000": (png_claiming(8000, 8000), IMAGE_TOO_LARGE),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_files_are_refused_and_nothing_is_kept(as_user, citizen, draft, requirements, media, case):
    content, message = HOSTILE[case]
    events = AuditEvent.objects.count()
    response = upload(as_user(citizen), draft, requirements["营业执照"], SimpleUploadedFile(f"{case}.pdf", content))
    assert response.status_code == 400, response.content
    assert response.json() == {"file": [message]}
    assert not Material.objects.exists()
    assert AuditEvent.objects.count() == events
    assert stored_files(media) == []


def test_hostile_file_through_the_page_is_shown_next_to_the_requirement(client, citizen, draft, requirements, media):
    client.force_login(citizen)
    content, message = HOSTILE["open_action_javascript"]
    response = client.post(f"/my/cases/{draft}/materials/", {"requirement": requirements["营业执照"],
                                                              "file": SimpleUploadedFile("申请书.pdf", content)})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Material.objects.exists() and stored_files(media) == []


def test_an_encrypted_pdf_is_refused(as_user, citizen, draft, requirements, media):
    writer = PdfFileWriter(stream_xrefs=False)
    writer.encrypt("owner", "user")
    output = io.BytesIO()
    writer.write(output)
    response = upload(as_user(citizen), draft, requirements["营业执照"], SimpleUploadedFile("locked.pdf", output.getvalue()))
    assert response.status_code == 400 and response.json() == {"file": [PDF_ENCRYPTED]}
    assert not Material.objects.exists()


def weasyprint_pdf() -> bytes:
    return weasyprint.HTML(string="<h1>营业执照</h1><p>统一社会信用代码 91220100MA00001950</p>").write_pdf()


def signed_pdf(item) -> bytes:
    """A document as the center issues it: WeasyPrint, then sealed (PAdES, visible stamp) by pyHanko."""
    authority = seal_ca_init()[0]
    seal = seal_create(department_code=item.department.code)
    return SealSigner(seal=seal, authority=authority).sign(weasyprint_pdf())


@pytest.mark.parametrize("kind", ["weasyprint", "signed", "compressed_objects", "scan_jpeg", "scan_png", "incremental_update"])
def test_what_we_and_scanners_write_still_passes(as_user, citizen, draft, requirements, item, media, kind):
    if kind == "weasyprint":
        content, content_type = weasyprint_pdf(), "application/pdf"
    elif kind == "signed":
        content, content_type = signed_pdf(item), "application/pdf"
    elif kind == "compressed_objects":
        content, content_type = pdf_with_compressed_objects(script=False), "application/pdf"
    elif kind == "scan_jpeg":
        content, content_type = jpeg_scan(), "image/jpeg"
    elif kind == "scan_png":
        buffer = io.BytesIO()
        Image.open(io.BytesIO(jpeg_scan())).convert("L").save(buffer, format="PNG")
        content, content_type = buffer.getvalue(), "image/png"
    else:
        # An edited PDF: a second revision appended after the first %%EOF, ending in its own.
        first = build_pdf()
        update = b"4 0 obj\n<</Title(revised)>>\nendobj\n"
        content = (first + update + b"xref\n4 1\n%010d 00000 n \n" % len(first)
                   + b"trailer\n<</Size 5/Root 1 0 R/Info 4 0 R/Prev %d>>\n" % first.index(b"xref\n")
                   + b"startxref\n%d\n%%%%EOF\n" % (len(first) + len(update)))
        content_type = "application/pdf"
    response = upload(as_user(citizen), draft, requirements["营业执照"], SimpleUploadedFile("材料", content))
    assert response.status_code == 201, response.content
    material = Material.objects.get(pk=response.json()["id"])
    assert material.content_type == content_type and material.file.read() == content
    assert material.sha256 == hashlib.sha256(content).hexdigest()


def test_many_objects_in_one_object_stream_are_inspected_quickly(as_user, citizen, draft, requirements, media):
    """pyHanko alone reads an object stream's table again for every object: 5,000 would take minutes."""
    content = pdf_with_compressed_objects(script=True, count=5000)
    started = time.monotonic()
    response = upload(as_user(citizen), draft, requirements["营业执照"], SimpleUploadedFile("big.pdf", content))
    assert response.status_code == 400 and response.json() == {"file": [PDF_ACTIVE]}
    assert time.monotonic() - started < 5


def test_a_large_scan_is_inspected_quickly(as_user, citizen, draft, requirements, media):
    """A 20 MP photo of a document, the size phones take, decodes in well under a second."""
    content = jpeg_scan(5472, 3648)
    started = time.monotonic()
    response = upload(as_user(citizen), draft, requirements["营业执照"], SimpleUploadedFile("photo.jpg", content))
    assert response.status_code == 201, response.content
    assert time.monotonic() - started < 3


# --- a write that fails leaves nothing behind -------------------------------------------------------


def test_a_full_disk_answers_503_and_leaves_no_row_and_no_partial_file(as_user, citizen, draft, requirements, full_disk):
    events = AuditEvent.objects.count()
    response = upload(as_user(citizen), draft, requirements["营业执照"])
    assert response.status_code == 503
    assert response.json()["code"] == "storage_unavailable" and "未保存" in response.json()["detail"]
    assert not Material.objects.exists()
    assert AuditEvent.objects.count() == events
    assert stored_files(full_disk) == []


def test_a_full_disk_on_the_page_says_so(client, citizen, draft, requirements, full_disk):
    client.force_login(citizen)
    response = client.post(f"/my/cases/{draft}/materials/", {"requirement": requirements["营业执照"],
                                                              "file": SimpleUploadedFile("申请书.pdf", pdf_bytes())}, follow=True)
    assert response.status_code == 200
    assert "本次上传未保存" in response.content.decode()
    assert not Material.objects.exists() and stored_files(full_disk) == []


def test_a_failure_after_the_write_takes_the_file_away(media):
    """The file is written before its rows: when saving them fails, the file must not stay behind."""
    material = Material(application_id=1)
    with pytest.raises(RuntimeError), stored_upload(material.file, SimpleUploadedFile("a.pdf", pdf_bytes())) as name:
        assert material.file.name == name and len(stored_files(media)) == 1
        raise RuntimeError("the row could not be saved")
    assert stored_files(media) == []


# --- served as a download, never as a page ------------------------------------------------------------


def test_a_material_is_served_as_a_sandboxed_download(as_user, citizen, reviewer, submitted, media):
    """Even a file stored before these checks (here: HTML dressed as a PDF, put in place directly) reaches
    the browser as a download of its declared type, sandboxed, and is not kept by any cache."""
    material = Material.objects.filter(application__number=submitted).first()
    material.file.save("upload", ContentFile(b"%PDF-1.4\n" + HTML + b"\n%%EOF\n"), save=True)
    response = as_user(reviewer).get(f"/api/v1/applications/{submitted}/materials/{material.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox; default-src 'none'; frame-ancestors 'none'"
    assert response["Cache-Control"] == "no-store"
