"""The intake documents as PDFs: what the applicant reads on paper. No database: a document is rendered
from the frozen snapshot the services store with the case."""

import re
import subprocess
from datetime import date

import pytest

from applications.documents import DocumentKind, render_document_pdf

FULL_ID = "220102199003071235"
MASKED_ID = "220102********1235"

MATERIALS = [
    {"name": "食品经营许可申请书", "form_label": "原件", "copies": 1, "status": "已提交"},
    {"name": "营业执照", "form_label": "电子件", "copies": 1, "status": "免交（已有电子证照）"},
    {"name": "法定代表人（负责人）身份证明", "form_label": "复印件", "copies": 1, "status": "已提交"},
    {"name": "与食品经营相适应的主要设备设施布局、操作流程等文件", "form_label": "原件", "copies": 1, "status": "容缺后补"},
    {"name": "食品安全自查、从业人员健康管理、进货查验记录等食品安全管理制度", "form_label": "复印件", "copies": 2, "status": "已提交"},
]

# The receipt's rows: each file as received (applications.services.case.receipt_create).
RECEIVED = [
    {"name": "食品经营许可申请书", "version": 2, "file_name": "申请书-签字版.pdf", "size": 1258291, "size_label": "1.2 MB",
     "received_at": "2026-11-24T01:30:00+00:00"},
    {"name": "法定代表人（负责人）身份证明", "version": 1, "file_name": "身份证.jpg", "size": 36045, "size_label": "35.2 KB",
     "received_at": "2026-11-24T01:31:00+00:00"},
]

DEFICIENCIES = [
    {"requirement": "食品经营许可申请书", "reason": "申请书第3页“经营项目”未勾选，且缺少法定代表人签字，请补全后重新提交原件。"},
    {
        "requirement": "与食品经营相适应的主要设备设施布局、操作流程等文件",
        "reason": "布局图未标明食品处理区、更衣室、洗手消毒设施的位置和面积，无法判断生熟分开、防止交叉污染的要求是否满足，请按比例重新绘制并标注。",
    },
    {"requirement": "经营场所使用证明", "reason": "租赁合同已于2026年10月31日到期，请提供续签后的租赁合同或产权证明复印件。"},
    {"requirement": "食品安全管理人员健康证明", "reason": "健康证明已过有效期。"},
]


def snapshot(kind: str, **overrides) -> dict:
    """A realistic snapshot, as the services would freeze it when the document is issued."""
    common = {
        "number": "CC-CITY-20261124-000001",
        "document_number": "长政务受字〔2026〕第000001号",
        "issued_on": "2026-11-24",
        "hall_name": "长春市政务服务中心",
        "department_name": "长春市市场监督管理局",
        "item_name": "食品经营许可（新办）",
        "item_code": "11220100013544238Q4000112006000",
        "applicant_name": "张伟",
        "applicant_id_masked": MASKED_ID,
        "clerk_name": "李娜",
        "hotline": "12345",
        "supervision_phone": "0431-88776655",
    }
    per_kind = {
        DocumentKind.ACCEPTANCE_NOTICE: {
            "submitted_on": "2026-11-20",
            "accepted_on": "2026-11-24",
            "promised_days": 5,
            "due_date": "2026-12-01",
            "due_date_provisional": False,
            "materials": MATERIALS,
            "visits_note": "本事项办结后可选择邮寄送达或网上下载电子证照，无需再次到现场。",
        },
        DocumentKind.MATERIALS_NOTICE: {
            "submitted_on": "2026-11-20",
            "deficiencies": DEFICIENCIES,
            "deadline_note": "请在收到本通知之日起30个工作日内，通过窗口或网上办事大厅一次性提交上述补正材料；逾期未补正的，视为撤回申请。",
        },
        DocumentKind.REFUSAL_NOTICE: {
            "submitted_on": "2026-11-20",
            "reason": "申请人拟从事的经营项目为网络预约出租汽车经营，不属于本机关的职权范围，请向长春市交通运输局申请。",
            "legal_basis": "《中华人民共和国行政许可法》第三十二条第一款第（二）项",
            "decided_by": "刘洋",
        },
        DocumentKind.RECEIPT: {"materials": RECEIVED, "received_at": "2026-11-24T01:32:00+00:00"},
        DocumentKind.APPROVAL_DECISION: {
            "submitted_on": "2026-11-20", "opinion": "材料齐全，符合法定条件、标准", "decided_by": "王芳",
            "result_name": "食品经营许可证",
        },
        DocumentKind.REJECTION_DECISION: {
            "submitted_on": "2026-11-20", "opinion": "经营场所与食品经营项目不相适应",
            "legal_basis": "《食品经营许可和备案管理办法》第十二条", "decided_by": "王芳",
        },
    }
    return {**common, **per_kind[kind], **overrides}


def pdf_text(pdf: bytes, mode: str = "-raw") -> str:
    """The text of a PDF, by poppler's pdftotext.

    `-raw` keeps the order the page was drawn in, one table cell after another, so a cell's text stays
    together; `-layout` keeps the page's geometry but interleaves table cells that wrap over several lines
    (a long material name beside its long reason comes out mixed line by line), so it is only used to
    check where things sit on the page.
    """
    result = subprocess.run(["pdftotext", mode, "-", "-"], input=pdf, capture_output=True, check=True)
    return result.stdout.decode()


def flat(text: str) -> str:
    """Without whitespace: a sentence the page wrapped over two lines still matches."""
    return re.sub(r"\s+", "", text)


def render(kind: str, **overrides) -> bytes:
    pdf = render_document_pdf(kind=kind, context=snapshot(kind, **overrides))
    assert pdf.startswith(b"%PDF-")
    return pdf


def render_text(kind: str, **overrides) -> str:
    return flat(pdf_text(render(kind, **overrides)))


@pytest.mark.parametrize("kind", DocumentKind.values)
def test_every_document_names_the_case_the_applicant_and_the_issuer(kind):
    text = render_text(kind)
    assert DocumentKind(kind).label in text
    assert "CC-CITY-20261124-000001" in text
    assert "长政务受字〔2026〕第000001号" in text
    assert "张伟" in text
    assert MASKED_ID in text
    assert FULL_ID not in text
    assert "长春市市场监督管理局" in text
    assert "食品经营许可（新办）" in text
    assert "2026年11月24日" in text  # issued on, printed without leading zeros (GB/T 9704)
    assert "12345" in text and "0431-88776655" in text


def test_a_full_id_number_is_refused():
    with pytest.raises(ValueError, match="masked"):
        render(DocumentKind.RECEIPT, applicant_id_masked=FULL_ID)


def test_acceptance_notice_gives_the_time_limit_due_date_and_materials():
    text = render_text(DocumentKind.ACCEPTANCE_NOTICE)
    assert "决定予以受理" in text
    assert "5个工作日" in text
    assert "2026年12月1日" in text
    assert "预计，以国务院公布的节假日安排为准" not in text
    for material in MATERIALS:
        assert flat(material["name"]) in text
    assert "容缺后补" in text and "免交（已有电子证照）" in text
    assert "无需再次到现场" in text


def test_acceptance_notice_flags_a_provisional_due_date():
    # A year chinese-calendar does not know yet: the date is an estimate until the State Council's schedule.
    text = render_text(DocumentKind.ACCEPTANCE_NOTICE, due_date="2027-01-08", due_date_provisional=True)
    assert "2027年1月8日（预计，以国务院公布的节假日安排为准）" in text


def test_acceptance_notice_of_an_immediate_item():
    text = render_text(DocumentKind.ACCEPTANCE_NOTICE, promised_days=0, due_date="2026-11-24")
    assert "即办（当日办结）" in text


def test_materials_notice_lists_every_deficiency_at_once():
    text = render_text(DocumentKind.MATERIALS_NOTICE)
    assert "一次性告知" in text
    assert f"共{len(DEFICIENCIES)}项" in text
    for deficiency in DEFICIENCIES:
        # the material and its reason side by side, in one row of the table
        assert flat(deficiency["requirement"]) + flat(deficiency["reason"]) in text
    assert "请在收到本通知之日起30个工作日内" in text
    assert "《中华人民共和国行政许可法》第三十二条" in text
    assert (
        "申请材料不齐全或者不符合法定形式的，应当当场或者在五日内一次告知申请人需要补正的全部内容，"
        "逾期不告知的，自收到申请材料之日起即为受理。" in text
    )


def test_materials_notice_with_many_deficiencies_runs_onto_a_second_page():
    # 36, not 40: the closing (contact line, and the organ and date with room for the seal above them) must
    # fit under the list on the second page.
    many = [{"requirement": f"第{n}项材料", "reason": f"第{n}项材料的原因说明，需要补正。"} for n in range(1, 37)]
    text = pdf_text(render(DocumentKind.MATERIALS_NOTICE, deficiencies=many))
    assert text.count("\f") == 2  # two pages
    assert all(f"第{n}项材料第{n}项材料的原因说明" in flat(text) for n in range(1, 37))
    assert "第2页共2页" in flat(text)


def test_the_page_reads_like_a_notice():
    pdf = render(DocumentKind.ACCEPTANCE_NOTICE, due_date="2027-01-08", due_date_provisional=True)
    lines = pdf_text(pdf, "-layout").splitlines()

    def line_with(fragment):
        return next(line for line in lines if fragment in line.replace(" ", ""))

    title = line_with("受理通知书")
    assert title.index("受") > 20  # centred
    assert "220102********1235" in line_with("证件号码")
    assert "2027年1月8日（预计，以国务院公布的节假日安排为准）" in line_with("预计办结日期").replace(" ", "")
    signature_date = [line for line in lines if line.strip() == "2026年11月24日"][-1]
    assert len(signature_date) - len(signature_date.lstrip()) > len(title) // 2  # bottom right
    assert lines.index(signature_date) > lines.index(line_with("申请材料清单"))


@pytest.mark.parametrize("count", range(6, 11))
def test_the_signature_never_stands_alone_on_a_page(count):
    # Around the count where the list no longer fits on one page, the issuer and date (and later the seal)
    # must take the closing text with them, never sit on an otherwise empty page.
    materials = (MATERIALS * 3)[:count]
    pages = pdf_text(render(DocumentKind.ACCEPTANCE_NOTICE, materials=materials)).split("\f")[:-1]
    for page in pages[1:]:
        assert not page.strip().startswith("咨询电话")


def test_a_materials_notice_must_name_a_deficiency():
    with pytest.raises(ValueError, match="at least one deficiency"):
        render(DocumentKind.MATERIALS_NOTICE, deficiencies=[])
    with pytest.raises(ValueError, match="requirement and a reason"):
        render(DocumentKind.MATERIALS_NOTICE, deficiencies=[{"requirement": "营业执照", "reason": ""}])


def test_refusal_notice_gives_reason_legal_basis_and_remedies():
    text = render_text(DocumentKind.REFUSAL_NOTICE)
    assert "决定不予受理" in text
    assert "不属于本机关的职权范围，请向长春市交通运输局申请。" in text
    assert "《中华人民共和国行政许可法》第三十二条第一款第（二）项" in text
    assert "刘洋" in text
    assert "六十日内" in text and "《中华人民共和国行政复议法》" in text
    assert "向本级人民政府申请行政复议" in text
    assert "六个月内" in text and "《中华人民共和国行政诉讼法》" in text
    assert "向人民法院提起行政诉讼" in text


def test_receipt_lists_what_was_received_and_when():
    text = render_text(DocumentKind.RECEIPT)
    assert "2026年11月24日9时32分" in text  # 01:32 UTC, printed in Beijing time
    # Each file: the requirement, the file, its version and size, and when it came in.
    assert "食品经营许可申请书申请书-签字版.pdf第2版1.2MB2026年11月24日9时30分" in text
    assert "法定代表人（负责人）身份证明身份证.jpg第1版35.2KB2026年11月24日9时31分" in text
    assert "不作为受理凭证" in text


def test_an_online_case_has_no_hall_or_clerk():
    text = render_text(DocumentKind.RECEIPT, hall_name="", clerk_name="")
    assert "网上办理" in text
    assert "长春市政务服务中心" not in text


def test_snapshot_text_is_printed_as_text_not_markup():
    text = render_text(DocumentKind.REFUSAL_NOTICE, reason='<img src="file:///etc/passwd">材料<b>不全</b>')
    assert '<imgsrc="file:///etc/passwd">材料<b>不全</b>' in text


def test_the_same_snapshot_renders_the_same_document():
    context = snapshot(DocumentKind.ACCEPTANCE_NOTICE)
    first = render_document_pdf(kind=DocumentKind.ACCEPTANCE_NOTICE, context=context)
    again = render_document_pdf(kind=DocumentKind.ACCEPTANCE_NOTICE, context=context)
    assert first == again  # byte for byte: no clock, no random ids (the PDF's date is the issue date)


def test_a_snapshot_missing_a_key_is_refused():
    context = snapshot(DocumentKind.ACCEPTANCE_NOTICE)
    del context["due_date"], context["hotline"]
    with pytest.raises(ValueError, match="missing: hotline, due_date"):
        render_document_pdf(kind=DocumentKind.ACCEPTANCE_NOTICE, context=context)


def test_a_snapshot_with_python_objects_is_refused():
    # Stored as JSON, a date would come back as a string: render only what the stored snapshot will render.
    with pytest.raises(TypeError):
        render(DocumentKind.ACCEPTANCE_NOTICE, due_date=date(2026, 12, 1))


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        render_document_pdf(kind="decision_letter", context=snapshot(DocumentKind.RECEIPT))


@pytest.mark.parametrize("kind", [DocumentKind.APPROVAL_DECISION, DocumentKind.REJECTION_DECISION])
def test_decision_letters_and_where_the_seal_goes(kind):
    from applications.documents import render_document

    rendered = render_document(kind=kind, context=snapshot(kind))
    text = flat(pdf_text(rendered.pdf))
    assert kind.label in text and "王芳" in text
    if kind == DocumentKind.REJECTION_DECISION:
        assert "《食品经营许可和备案管理办法》第十二条" in text and "行政复议" in text and "行政诉讼" in text
    # The seal box sits over the signature block: in the right half of an A4 page, above the footer.
    x1, y1, x2, y2 = rendered.seal_box
    assert rendered.seal_page == 0
    assert 297 < (x1 + x2) / 2 < 595 and 100 < (y1 + y2) / 2 < 700 and x2 - x1 == 120
