"""Typed face fields at approval (DESIGN §14, decision 053): prefilled by type from the case's parties, checked
by type (credit code and ID check characters, dates, numbers, length), and the licence number drawn from the
type's own format and sequence — kept when the case is about a held certificate."""

import pytest
import time_machine
from django.test import Client

from applications.models import Application, State
from applications.services import certificate_face_data
from certificates.models import Certificate, CertificateType, LicenceNumberSequence
from tests.assertions import unchanged
from tests.certificates.factories import CertificateTypeFactory, issue_certificate
from tests.concurrency import client_for, race
from tests.factories import ApplicationFactory, UserFactory, credit_code, organisation_with_rep, published_item

pytestmark = pytest.mark.django_db

FIELDS = ["经营者名称", "统一社会信用代码", "法定代表人（负责人）", "经营场所", "成立日期", "注册资本（万元）", "许可证编号"]
TYPES = {"经营者名称": "org_name", "统一社会信用代码": "uscc", "法定代表人（负责人）": "person_name",
         "成立日期": "date", "注册资本（万元）": "number"}
GOOD = {"经营者名称": "长春市南关区张伟餐馆", "统一社会信用代码": credit_code(7), "成立日期": "2026-01-02",
        "注册资本（万元）": "50"}


def bad_check_character(code: str) -> str:
    """The same code with another check character."""
    return code[:-1] + ("0" if code[-1] != "0" else "1")


@pytest.fixture
def food_type(ccsj):
    return CertificateTypeFactory(
        code="FOOD-BIZ", name="食品经营许可证", department=ccsj, validity_years=5, face_fields=FIELDS,
        face_field_types=TYPES, public_fields=["经营者名称", "许可证编号"], number_field="许可证编号",
        number_format="JY1{year}{seq:08}",
    )


@pytest.fixture
def food_item(food_type):
    return published_item(department=food_type.department, certificate_type=food_type)


@pytest.fixture
def in_review(food_item, reviewer):
    """A person's case of the typed item, claimed by the reviewer; returns a maker (one case per call)."""

    def make(**kwargs):
        applicant = kwargs.pop("applicant", None) or UserFactory(identified=True, real_name="张伟")
        return ApplicationFactory(item=food_item, applicant=applicant, reviewer=reviewer, in_review=True, **kwargs)

    return make


def approve(client, number, face_data=None):
    data = {"opinion": "材料齐全，准予许可", **({"face_data": face_data} if face_data is not None else {})}
    return client.post(f"/api/v1/applications/{number}/approve/", data, format="json")


# --- prefill by type -------------------------------------------------------------------------------------


def test_a_person_case_never_prefills_a_credit_code_or_business_name_with_the_person(in_review):
    case = in_review()
    values, missing = certificate_face_data(case)
    # The person is the 法定代表人（负责人）; the business's name and credit code are the reviewer's to type.
    assert values["法定代表人（负责人）"] == "张伟"
    assert values["统一社会信用代码"] == "" and values["经营者名称"] == ""
    assert case.applicant_id_number not in values.values()
    assert values["经营场所"] == "人民大街 1 号"  # what the applicant declared
    assert "许可证编号" not in missing and values["许可证编号"] == ""  # drawn at approval, nobody types it
    assert set(missing) == {"经营者名称", "统一社会信用代码", "成立日期", "注册资本（万元）"}


def test_an_organisation_case_prefills_its_name_credit_code_and_legal_representative(food_item, reviewer):
    organisation, rep = organisation_with_rep(name="长春味道餐饮有限公司")
    case = ApplicationFactory(item=food_item, applicant=rep, organisation=organisation.credit_code, reviewer=reviewer,
                              in_review=True)
    values, _missing = certificate_face_data(case)
    assert values["经营者名称"] == "长春味道餐饮有限公司"
    assert values["统一社会信用代码"] == organisation.credit_code
    assert values["法定代表人（负责人）"] == organisation.legal_rep_name
    # What the reviewer supplies wins over what the case knows.
    assert certificate_face_data(case, {"经营者名称": "长春味道餐饮有限公司（南关店）"})[0]["经营者名称"] == "长春味道餐饮有限公司（南关店）"


def test_the_applicant_s_declared_values_win_over_the_parties(food_item, reviewer):
    organisation, rep = organisation_with_rep(name="长春味道餐饮有限公司")
    case = ApplicationFactory(item=food_item, applicant=rep, organisation=organisation.credit_code, reviewer=reviewer,
                              in_review=True, form_data={"经营者名称": "味道小馆", "经营场所": "人民大街 2 号"})
    assert certificate_face_data(case)[0]["经营者名称"] == "味道小馆"


def test_an_id_number_field_takes_the_person_s_id_never_a_credit_code(ccsj, reviewer):
    person_type = CertificateTypeFactory(
        code="PERSON-LIC", department=ccsj, face_fields=["姓名", "公民身份号码", "证书编码"],
        face_field_types={"姓名": "person_name", "公民身份号码": "id_number"}, number_field="证书编码",
    )
    item = published_item(department=ccsj, certificate_type=person_type)
    person = ApplicationFactory(item=item, applicant=UserFactory(identified=True, real_name="李雷"), reviewer=reviewer,
                                in_review=True)
    values = certificate_face_data(person)[0]
    assert (values["姓名"], values["公民身份号码"]) == ("李雷", person.applicant_id_number)
    organisation, rep = organisation_with_rep(n=3)
    company = ApplicationFactory(item=item, applicant=rep, organisation=organisation.credit_code, reviewer=reviewer,
                                 in_review=True)
    values = certificate_face_data(company)[0]
    assert values["公民身份号码"] == organisation.legal_rep_id_number != organisation.credit_code


# --- checked at approval -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("changes", "message"), [
    ({"统一社会信用代码": bad_check_character(credit_code(7))}, "统一社会信用代码：校验码不正确"),
    ({"统一社会信用代码": "91220100MA00"}, "统一社会信用代码：应为 18 位"),
    ({"成立日期": "2026-02-30"}, "成立日期：应为日期"),
    ({"成立日期": "去年"}, "成立日期：应为日期"),
    ({"注册资本（万元）": "五十"}, "注册资本（万元）：应为数字"),
    ({"经营者名称": "长" * 201}, "经营者名称：不能超过 200 个字"),
    ({"经营者名称": ""}, "经营者名称：请填写"),
])
def test_a_wrong_face_value_is_refused_naming_the_field_and_nothing_changes(in_review, reviewer, as_user, changes, message):
    number = in_review().number
    with unchanged(number):
        response = approve(as_user(reviewer), number, {**GOOD, **changes})
    assert response.status_code == 400
    assert any(text.startswith(message) for text in response.json()["face_data"]), response.json()
    assert Application.objects.get(number=number).state == State.IN_REVIEW
    assert not LicenceNumberSequence.objects.exists()  # no number was drawn


def test_a_wrong_id_check_digit_is_refused(ccsj, reviewer, as_user):
    person_type = CertificateTypeFactory(
        code="PERSON-LIC", department=ccsj, face_fields=["姓名", "公民身份号码"],
        face_field_types={"姓名": "person_name", "公民身份号码": "id_number"},
    )
    item = published_item(department=ccsj, certificate_type=person_type)
    number = ApplicationFactory(item=item, reviewer=reviewer, in_review=True).number
    wrong = bad_check_character(Application.objects.get(number=number).applicant_id_number)
    with unchanged(number):
        response = approve(as_user(reviewer), number, {"公民身份号码": wrong})
    assert response.status_code == 400
    assert response.json()["face_data"] == ["公民身份号码：校验码不正确"]


def test_approval_stores_the_checked_values_and_the_next_licence_number(in_review, reviewer, as_user):
    number = in_review().number
    supplied = {**GOOD, "统一社会信用代码": " " + credit_code(7).lower() + " ", "成立日期": "2026年1月2日",
                "注册资本（万元）": "1,200.50", "许可证编号": "我自己编的"}
    with time_machine.travel("2026-11-24 10:00 +0800"):
        response = approve(as_user(reviewer), number, supplied)
    assert response.status_code == 200, response.content
    stored = Application.objects.get(number=number).face_data
    assert stored["统一社会信用代码"] == credit_code(7)
    assert stored["成立日期"] == "2026-01-02"
    assert stored["注册资本（万元）"] == "1200.50"
    assert stored["许可证编号"] == "JY1202600000001"  # the reviewer cannot type it


def test_licence_numbers_follow_the_format_increase_and_restart_each_year(in_review, reviewer, as_user, food_type):
    numbers = []
    for day in ("2026-11-24", "2026-11-25", "2027-01-05"):
        number = in_review().number
        with time_machine.travel(f"{day} 10:00 +0800"):
            assert approve(as_user(reviewer), number, GOOD).status_code == 200
        numbers.append(Application.objects.get(number=number).face_data["许可证编号"])
    assert numbers == ["JY1202600000001", "JY1202600000002", "JY1202700000001"]
    assert sorted(LicenceNumberSequence.objects.filter(type=food_type).values_list("year", "last")) == [(2026, 2), (2027, 1)]


def test_a_format_without_the_year_is_one_sequence(in_review, reviewer, as_user, food_type):
    CertificateType.objects.filter(pk=food_type.pk).update(number_format="CC{seq:05}")
    numbers = []
    for day in ("2026-12-30", "2027-01-05"):
        number = in_review().number
        with time_machine.travel(f"{day} 10:00 +0800"):
            assert approve(as_user(reviewer), number, GOOD).status_code == 200
        numbers.append(Application.objects.get(number=number).face_data["许可证编号"])
    assert numbers == ["CC00001", "CC00002"]
    assert list(LicenceNumberSequence.objects.filter(type=food_type).values_list("year", "last")) == [(0, 2)]


def test_a_type_with_a_number_field_but_no_format_numbers_by_code_year_and_sequence(in_review, reviewer, as_user, food_type):
    CertificateType.objects.filter(pk=food_type.pk).update(number_format="")
    number = in_review().number
    with time_machine.travel("2026-11-24 10:00 +0800"):
        assert approve(as_user(reviewer), number, GOOD).status_code == 200
    assert Application.objects.get(number=number).face_data["许可证编号"] == "FOOD-BIZ-2026-000001"


def test_the_certificate_carries_the_licence_number(in_review, reviewer, as_user):
    number = in_review().number
    with time_machine.travel("2026-11-24 10:00 +0800"):
        assert approve(as_user(reviewer), number, GOOD).status_code == 200
        case = ApplicationFactory.advance(Application.objects.get(number=number), to=State.ISSUED)
    certificate = Certificate.objects.get(identifier=case.certificate_identifier)
    assert certificate.licence_number == certificate.face_data["许可证编号"] == "JY1202600000001"


# --- a case about a held certificate keeps its number -----------------------------------------------------


def test_a_case_about_a_held_certificate_starts_from_it_and_keeps_its_number(in_review, reviewer, as_user, food_type):
    first = in_review()
    with time_machine.travel("2026-11-24 10:00 +0800"):
        assert approve(as_user(reviewer), first.number, GOOD).status_code == 200
        first = ApplicationFactory.advance(Application.objects.get(number=first.number), to=State.ISSUED)
    held = Certificate.objects.get(identifier=first.certificate_identifier)
    renewal = in_review(applicant=first.applicant)
    # The renewal case names the certificate it is about (set by intake for renew/change/replace/cancel).
    Application.objects.filter(pk=renewal.pk).update(held_certificate=held)
    renewal.refresh_from_db()
    values, missing = certificate_face_data(renewal)
    assert values["经营者名称"] == GOOD["经营者名称"] and values["统一社会信用代码"] == GOOD["统一社会信用代码"]
    assert values["许可证编号"] == held.licence_number and missing == []
    with time_machine.travel("2027-02-01 10:00 +0800"):
        response = approve(as_user(reviewer), renewal.number, {"许可证编号": "JY1999999999999"})
    assert response.status_code == 200, response.content
    assert Application.objects.get(pk=renewal.pk).face_data["许可证编号"] == "JY1202600000001"
    assert not LicenceNumberSequence.objects.filter(type=food_type, year=2027).exists()  # nothing drawn


def test_a_reissue_keeps_the_licence_number_and_refuses_another(food_type, holder):
    face = {**GOOD, "法定代表人（负责人）": "张伟", "经营场所": "人民大街 1 号", "许可证编号": "JY1202600000009"}
    old = issue_certificate(certificate_type=food_type, holder=holder, face_data=face)
    new = issue_certificate(certificate_type=food_type, holder=holder, face_data=face, previous=old)
    assert old.licence_number == new.licence_number == "JY1202600000009"
    with pytest.raises(Exception) as refused:
        issue_certificate(certificate_type=food_type, holder=holder, face_data={**face, "许可证编号": "JY1202600000010"},
                          previous=new)
    assert "换发须沿用原证号 JY1202600000009" in str(refused.value)
    new.refresh_from_db()
    assert new.status == "valid"


# --- two approvals at once ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_approvals_at_once_get_different_numbers(food_item, ccsj):
    """Twice: when the year's sequence row does not exist yet (both create it), and when it does (both take
    the next number from it)."""
    reviewers = [UserFactory(reviewer=True, department=ccsj) for _ in range(2)]
    clients = [client_for(r) for r in reviewers]
    given = []
    for _round in range(2):
        numbers = [ApplicationFactory(item=food_item, reviewer=r, in_review=True).number for r in reviewers]
        with time_machine.travel("2026-11-24 10:00 +0800"):
            responses = race([lambda c=c, n=n: approve(c, n, GOOD) for c, n in zip(clients, numbers, strict=True)])
        assert [r.status_code for r in responses] == [200, 200]
        given += [Application.objects.get(number=n).face_data["许可证编号"] for n in numbers]
    assert sorted(given) == [f"JY12026{seq:08}" for seq in (1, 2, 3, 4)]


# --- the approval form ---------------------------------------------------------------------------------------


def test_the_approve_form_has_one_typed_input_per_field_and_the_number_read_only(in_review, reviewer):
    number = in_review().number
    client = Client()
    client.force_login(reviewer)
    body = client.get(f"/review/cases/{number}/").content.decode()
    assert 'type="date" name="approve-face_4"' in body
    assert 'inputmode="decimal"' in body and 'maxlength="18"' in body
    assert "批准时自动编号" in body and 'name="approve-face_6"' not in body
    assert 'value="张伟"' in body  # the 法定代表人（负责人）


def test_the_approve_form_shows_the_error_next_to_the_field(in_review, reviewer):
    number = in_review().number
    client = Client()
    client.force_login(reviewer)
    post = {"approve-opinion": "同意", "approve-face_0": GOOD["经营者名称"],
            "approve-face_1": bad_check_character(credit_code(7)), "approve-face_2": "张伟", "approve-face_3": "人民大街 1 号",
            "approve-face_4": "2026-01-02", "approve-face_5": "50"}
    with unchanged(number):
        response = client.post(f"/review/cases/{number}/approve/", post)
    assert response.status_code == 200
    body = response.content.decode()
    field = body[body.index('for="id_approve-face_1"') - 200:body.index('for="id_approve-face_1"') + 800]
    assert "has-error" in field and "校验码不正确" in field
    assert "照面信息有 1 处需要修改" in body
