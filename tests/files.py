"""Files a test uploads: small, well-formed PDFs and PNGs, and the one request that uploads a material."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def build_pdf(*objects: bytes, catalog: bytes = b"", page: bytes = b"", comment: str = "") -> bytes:
    """A small, well-formed one-page PDF (real xref offsets), as a scanner would write it: object 1 is the
    catalog, 2 the page tree, 3 the page; `objects` are numbered from 4 on. `catalog` and `page` add entries."""
    bodies = [b"<</Type/Catalog/Pages 2 0 R" + catalog + b">>", b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
              b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]" + page + b">>", *objects]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n% " + comment.encode() + b"\n")
    offsets = []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(bodies) + 1, xref)
    return bytes(out)


def pdf_bytes(text: str = "材料") -> bytes:
    return build_pdf(comment=text)


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def pdf_file(name="申请书.pdf", text="材料"):
    return SimpleUploadedFile(name, pdf_bytes(text), content_type="application/pdf")


def upload(client, number, requirement, file=None):
    """POST one material of a case through the API, as the applicant's or the window's client."""
    return client.post(f"/api/v1/applications/{number}/materials/", {"requirement": requirement, "file": file or pdf_file()}, format="multipart")


def stored_files(media) -> list:
    """Every file under the media folder (a test's own, see the `media` fixture of tests/applications)."""
    return [path for path in media.rglob("*") if path.is_file()] if media.exists() else []
