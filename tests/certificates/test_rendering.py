"""The certificate face as a PDF: what it says (pdftotext), where it says it (-bbox), and how it looks
(pdftoppm). Set CERT_PNG_DIR to keep the page images (e.g. CERT_PNG_DIR=/tmp → /tmp/cert-*.png)."""

import os
import re
import subprocess
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest
import qrcode
import weasyprint
from PIL import Image

from certificates.identifiers import certificate_identifier
from certificates.models import Certificate
from certificates.rendering import PAGE_MM, SEAL_BOX, SEAL_BOX_MM, RowRunSvgPathImage, certificate_render_pdf, verification_url
from tests.certificates.factories import COMPANY_CODE, FOOD_FACE_DATA, PERSON_ID, issue_certificate

pytestmark = pytest.mark.django_db

MM = 72 / 25.4


def pdf_text(pdf: bytes, *options: str) -> str:
    return subprocess.run(["pdftotext", *options, "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def page_image(pdf: bytes, name: str, tmp_path: Path, resolution: int = 60) -> Image.Image:
    """Page 1 as PNG through poppler, kept as cert-<name>.png in CERT_PNG_DIR when set."""
    folder = Path(os.environ.get("CERT_PNG_DIR") or tmp_path)
    (tmp_path / "c.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", str(resolution), "-f", "1", "-l", "1", "-singlefile",
                    str(tmp_path / "c.pdf"), str(folder / f"cert-{name}")], check=True)
    return Image.open(folder / f"cert-{name}.png").convert("L")


def seal_box_pixels(image: Image.Image, resolution: int) -> Image.Image:
    x1, y1, x2, y2 = SEAL_BOX
    scale = resolution / 72
    page_height = PAGE_MM[1] * MM
    return image.crop((round(x1 * scale), round((page_height - y2) * scale), round(x2 * scale), round((page_height - y1) * scale)))


@pytest.fixture
def food_certificate(food_type, holder):
    return issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA,
                             holder_name="长春市南关区张伟餐馆", holder_id_type="001", holder_id_number=COMPANY_CODE,
                             issued_on=date(2026, 11, 24))


def test_weasyprint_subsets_fonts_with_harfbuzz():
    # Without libharfbuzz-subset0 a Chinese page takes ~14 s instead of a fraction of a second (DESIGN §2).
    assert weasyprint.text.ffi.harfbuzz_subset is not None


def test_the_face_says_what_the_certificate_is(food_certificate, settings):
    text = flat(pdf_text(food_certificate.pdf.read(), "-raw"))
    assert "食品经营许可证" in text
    assert "长春市南关区张伟餐馆" in text
    assert COMPANY_CODE in text  # the certificate itself shows the full code, as a paper licence does
    assert "长春市市场监督管理局" in text
    assert food_certificate.identifier in text
    assert "2026年11月24日至2031年11月23日" in text
    for field in FOOD_FACE_DATA:
        assert flat(field) in text
    assert "热食类食品制售、冷食类食品制售" in text
    assert f"http://127.0.0.1:8000/verify/{food_certificate.identifier}/" in text


def test_a_person_and_a_permanent_certificate(licence_type, holder):
    certificate = issue_certificate(certificate_type=licence_type, holder=holder, issued_on=date(2026, 11, 24))
    text = flat(pdf_text(certificate.pdf.read(), "-raw"))
    assert "营业执照" in text and "姓名张伟" in text and f"公民身份号码{PERSON_ID}" in text
    assert "自2026年11月24日起长期有效" in text


def test_the_qr_code_carries_the_public_verification_address(settings, food_type):
    settings.PUBLIC_BASE_URL = "https://zwfw.changchun.example.cn/"
    identifier = certificate_identifier(type_code="FOOD-BIZ", issuer_credit_code="11220100MB1234567K", serial="00000001", version=1)
    url = verification_url(identifier)
    assert url == f"https://zwfw.changchun.example.cn/verify/{identifier}/"
    # The run-length SVG draws exactly the modules qrcode computes for that address.
    image = qrcode.make(url, image_factory=RowRunSvgPathImage, border=1)
    path = ET.fromstring(image.to_string()).find("{http://www.w3.org/2000/svg}path").get("d")
    reference = qrcode.QRCode(border=0)
    reference.add_data(url)
    reference.make(fit=True)
    expected = reference.get_matrix()
    drawn = [[False] * len(expected) for _ in expected]
    for x, y, width in re.findall(r"M([\d.]+),([\d.]+)h([\d.]+)v", path):
        row, start = int(float(y)) - 1, int(float(x)) - 1
        for col in range(start, start + int(float(width))):
            drawn[row][col] = True
    assert drawn == expected


def test_seal_box_is_where_the_template_leaves_room(food_certificate):
    x1, y1, x2, y2 = SEAL_BOX
    assert (x2 - x1, y2 - y1) == pytest.approx((SEAL_BOX_MM["size"] * MM,) * 2, abs=0.02)
    assert 0 < x1 < x2 < PAGE_MM[0] * MM and 0 < y1 < y2 < PAGE_MM[1] * MM
    # No word is printed inside the box (pdftotext -bbox gives each word's box, origin top-left).
    page_height = PAGE_MM[1] * MM
    xhtml = pdf_text(food_certificate.pdf.read(), "-bbox")
    words = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', xhtml)
    assert len(words) > 20
    for w_x1, w_y1, w_x2, w_y2, word in words:
        top, bottom = page_height - float(w_y2), page_height - float(w_y1)
        overlaps = float(w_x1) < x2 and float(w_x2) > x1 and top < y2 and bottom > y1
        assert not overlaps, word


def test_the_page_as_seen(food_certificate, tmp_path):
    """Look at it too: CERT_PNG_DIR=/tmp keeps /tmp/cert-food-biz.png."""
    pdf = food_certificate.pdf.read()
    assert subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout.decode().count("841.89 x 595.276 pts (A4)") == 1
    fonts = subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert "Noto-Serif-CJK-SC" in fonts and "Type 3" not in fonts  # real CJK glyphs, embedded and subset
    image = page_image(pdf, "food-biz", tmp_path)
    # The seal box is blank paper.
    box = seal_box_pixels(image, 60)
    assert box.getextrema()[0] >= 250
    # The QR code (top right) is drawn: plenty of black modules.
    scale = 60 / 25.4
    qr = image.crop((round(247 * scale), round(19 * scale), round(275 * scale), round(47 * scale)))
    histogram = qr.histogram()
    assert sum(histogram[:64]) > 0.3 * qr.width * qr.height


def test_a_type_with_its_own_template(food_type, holder, tmp_path):
    food_type.template = (
        '{% extends "certificates/certificate.html" %}'
        "{% block face %}<div class=\"box face\"><p>兹准予 {{ certificate.holder_name }} 从事"
        "{{ certificate.face_data.主体业态 }}。</p></div>{% endblock %}"
    )
    food_type.save()
    certificate = issue_certificate(certificate_type=food_type, holder=holder, face_data=FOOD_FACE_DATA)
    pdf = certificate.pdf.read()
    text = flat(pdf_text(pdf, "-raw"))
    assert "兹准予张伟从事餐饮服务经营者（小型餐馆）。" in text
    assert certificate.identifier in text  # the frame, QR code and notes come from the generic template
    assert seal_box_pixels(page_image(pdf, "own-template", tmp_path), 60).getextrema()[0] >= 250


def test_a_template_cannot_make_the_renderer_read_files(food_type, holder, tmp_path):
    secret = tmp_path / "secret.svg"
    secret.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>SECRET-FILE</text></svg>')
    food_type.template = f'<html><body><p>证照</p><img src="{secret.as_uri()}"><object data="{secret.as_uri()}"></object></body></html>'
    food_type.save()
    certificate = Certificate(
        identifier="x", type=food_type, issuer=food_type.department, serial="1", version=1, holder_name="张伟",
        holder_id_type="111", holder_id_number=PERSON_ID, issued_on=date(2026, 11, 24), valid_from=date(2026, 11, 24),
    )
    assert "SECRET-FILE" not in pdf_text(certificate_render_pdf(certificate=certificate))


def test_many_face_fields_use_the_compact_layout_and_stay_clear_of_the_seal(ccsj, holder, tmp_path):
    from tests.certificates.factories import CertificateTypeFactory

    fields = [f"字段{n}" for n in range(1, 10)]
    crowded = CertificateTypeFactory(code="CROWDED", name="建筑工程施工许可证", department=ccsj, face_fields=fields)
    certificate = issue_certificate(certificate_type=crowded, holder=holder,
                                    face_data={name: f"{name}的内容比较长需要占据一行" for name in fields})
    pdf = certificate.pdf.read()
    assert "字段9的内容" in flat(pdf_text(pdf, "-raw"))
    assert subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout.decode().count("Pages:           1") == 1
    assert seal_box_pixels(page_image(pdf, "crowded", tmp_path), 60).getextrema()[0] >= 250
