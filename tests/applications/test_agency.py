"""代办/委托 and 帮办 (DESIGN §13) through the real API: a case filed for another person carries the 授权委托书
requirement, the principal sees it once registered and holds the certificate, 代领 checks the collector's ID,
and the hall staff member who helped is recorded once."""

import pytest

from applications.models import Application, State
from certificates.models import Certificate, CertificateType
from items.models import MaterialRequirement, RequirementKind
from portal.accounts import user_register
from portal.models import AuditEvent, Notification, SmsPurpose, User
from tests.factories import ApplicationFactory, DepartmentFactory, UserFactory, published_item, resident_id
from tests.files import pdf_file
from tests.sms_outbox import sms_outbox

PRINCIPAL_ID = resident_id(31, region="220105")
PRINCIPAL = {"name": "孙桂兰", "id_type": "111", "id_number": PRINCIPAL_ID}


@pytest.fixture
def son(db):
    """The account that files for his mother (代办)."""
    return UserFactory(identified=True, real_name="孙浩")


@pytest.fixture
def licence(db):
    department = DepartmentFactory(name="长春市卫生健康委员会")
    certificate_type = CertificateType.objects.create(code="HEALTH-CERT", name="健康证明", department=department,
                                                      validity_years=1)
    return published_item(department=department, certificate_type=certificate_type, audience=["1"], code="HEALTH-1")


def test_a_case_filed_for_another_person_adds_the_attorney_letter(son, licence, as_user):
    response = as_user(son).post("/api/v1/applications/", {"item": licence.code, "principal": PRINCIPAL}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["applicant"]["name"] == "孙桂兰"
    assert body["parties"]["principal"]["name"] == "孙桂兰" and body["parties"]["agent"]["name"] == "孙浩"
    letter = MaterialRequirement.objects.get(version=None, kind=RequirementKind.ATTORNEY_LETTER)
    assert [m["name"] for m in body["materials"]][-1] == "授权委托书"
    assert body["materials"][-1]["status"] == "missing"
    case = Application.objects.get(number=body["number"])
    assert (case.applicant, case.principal.id_number, case.applicant_id_number) == (son, PRINCIPAL_ID, PRINCIPAL_ID)
    # Every item material uploaded but the letter: submitting is refused, nothing changes.
    for material in body["materials"][:-1]:
        if material["required"]:
            as_user(son).post(f"/api/v1/applications/{case.number}/materials/",
                              {"requirement": material["requirement"], "file": pdf_file()}, format="multipart")
    refused = as_user(son).post(f"/api/v1/applications/{case.number}/submit/")
    assert refused.status_code in (400, 409) and "授权委托书" in refused.content.decode()
    assert Application.objects.get(pk=case.pk).state == State.DRAFT
    uploaded = as_user(son).post(f"/api/v1/applications/{case.number}/materials/",
                                 {"requirement": letter.pk, "file": pdf_file("授权委托书.pdf")}, format="multipart")
    assert uploaded.status_code == 201, uploaded.content
    assert as_user(son).post(f"/api/v1/applications/{case.number}/submit/").status_code == 200
    # A case filed for oneself has no such requirement.
    own = as_user(son).post("/api/v1/applications/", {"item": licence.code}, format="json").json()
    assert "授权委托书" not in [m["name"] for m in own["materials"]]


@pytest.mark.parametrize(("principal", "message"), [
    ({"name": "孙桂兰", "id_type": "111", "id_number": PRINCIPAL_ID[:-1] + ("0" if PRINCIPAL_ID[-1] != "0" else "1")}, "校验位错误"),
    ({"name": "孙桂兰", "id_type": "001", "id_number": PRINCIPAL_ID}, "居民身份证"),
])
def test_an_invalid_principal_is_refused_on_the_field(son, licence, as_user, principal, message):
    response = as_user(son).post("/api/v1/applications/", {"item": licence.code, "principal": principal}, format="json")
    assert response.status_code == 400
    assert any(message in text for text in response.json()["principal"]), response.json()
    assert not Application.objects.exists()


def test_a_principal_without_a_name_is_refused_on_that_field(son, licence, as_user):
    response = as_user(son).post("/api/v1/applications/", {
        "item": licence.code, "principal": {"name": "", "id_type": "111", "id_number": PRINCIPAL_ID}}, format="json")
    assert response.status_code == 400 and response.json()["principal"]["name"]
    assert not Application.objects.exists() and not User.objects.filter(id_number=PRINCIPAL_ID).exists()


def test_one_cannot_be_ones_own_principal(son, licence, as_user):
    myself = {"name": son.real_name, "id_type": "111", "id_number": son.id_number}
    response = as_user(son).post("/api/v1/applications/", {"item": licence.code, "principal": myself}, format="json")
    assert response.status_code == 400 and "不能是申请人本人" in response.json()["principal"][0]


def test_the_principal_sees_the_case_once_registered_and_holds_the_certificate(son, licence, as_user, api, settings,
                                                                              tmp_path):
    outbox = sms_outbox(settings, tmp_path)
    case = ApplicationFactory(item=licence, applicant=son, principal=PRINCIPAL, issued=True)
    # She registers online with her own name and ID: the identity the case names becomes her account.
    assert api.post("/api/v1/auth/sms-code/", {"phone": "13904310031", "purpose": SmsPurpose.REGISTER},
                    format="json").status_code in (200, 201, 202)
    mother, claimed = user_register(real_name="孙桂兰", id_type="111", id_number=PRINCIPAL_ID, phone="13904310031",
                                    code=outbox.code("13904310031"), password="Sun-guilan-2026")
    assert claimed and mother.pk == case.principal_id
    seen = as_user(mother).get(f"/api/v1/applications/{case.number}/")
    assert seen.status_code == 200 and seen.json()["state"] == State.ISSUED
    certificate = Certificate.objects.get(identifier=case.certificate_identifier)
    assert (certificate.holder_id, certificate.holder_id_number, certificate.holder_name) == (mother.pk, PRINCIPAL_ID, "孙桂兰")
    assert [row["identifier"] for row in as_user(mother).get("/api/v1/certificates/").json()["results"]] == [certificate.identifier]
    # The agent filed it but does not hold her certificate.
    assert as_user(son).get("/api/v1/certificates/").json()["results"] == []
    # Both were told it was issued.
    assert {mother.pk, son.pk} <= set(mother.notifications.model.objects.filter(
        application=case.number, kind="issued").values_list("user_id", flat=True))


@pytest.mark.parametrize(("collector", "accepted", "who"), [
    ("principal", True, "applicant"), ("agent", True, "agent"), ("stranger", False, None)])
def test_pickup_checks_the_collectors_id(son, licence, clerk, as_user, collector, accepted, who):
    case = ApplicationFactory(item=licence, applicant=son, principal=PRINCIPAL, issued=True)
    number = {"principal": PRINCIPAL_ID, "agent": son.id_number, "stranger": resident_id(99, region="220106")}[collector]
    response = as_user(clerk).post(f"/api/v1/applications/{case.number}/deliver/",
                                   {"method": "pickup", "id_number": number}, format="json")
    stored = Application.objects.get(pk=case.pk)
    if accepted:
        assert response.status_code == 200 and stored.state == State.DELIVERED
        event = AuditEvent.objects.filter(object_id=case.number, action="application_deliver").get()
        assert event.payload["collected_by"] == who
        # The applicant hears at once who collected it (代领 included).
        told = Notification.objects.filter(application=case.number, kind="delivered")
        assert {n.user_id for n in told} == {son.pk, case.principal_id}  # the agent who filed it and the principal
        wording = "由申请人本人凭证件领取" if who == "applicant" else "由代领人凭证件领取"
        assert all(wording in n.message for n in told)
    else:
        assert response.status_code == 400 and "领取人证件号码与申请人不符" in response.json()["id_number"][0]
        assert stored.state == State.ISSUED and stored.delivered_at is None


def test_a_clerk_registers_a_proxy_case_at_the_window(clerk, licence, as_user):
    present = {"name": "孙浩", "id_type": "111", "id_number": resident_id(32, region="220105")}
    response = as_user(clerk).post("/api/v1/applications/", {"item": licence.code, "applicant": present,
                                                              "principal": PRINCIPAL}, format="json")
    assert response.status_code == 201, response.content
    case = Application.objects.get(number=response.json()["number"])
    assert (case.applicant.id_number, case.principal.id_number, case.applicant_name) == (present["id_number"], PRINCIPAL_ID, "孙桂兰")
    assert User.objects.get(id_number=PRINCIPAL_ID).has_usable_password() is False


def test_assistance_is_recorded_once_and_only_before_acceptance(clerk, clerk2, citizen, submitted, as_user):
    response = as_user(clerk).post(f"/api/v1/applications/{submitted}/assist/")
    assert response.status_code == 200 and response.json()["parties"]["assisted_by"] == "李娜"
    assert Application.objects.get(number=submitted).assisted_by == clerk
    again = as_user(clerk2).post(f"/api/v1/applications/{submitted}/assist/")
    assert again.status_code == 409 and "李娜" in again.json()["detail"]
    assert Application.objects.get(number=submitted).assisted_by == clerk
    assert as_user(citizen).post(f"/api/v1/applications/{submitted}/assist/").status_code == 403
    assert AuditEvent.objects.filter(object_id=submitted, action="application_assist").count() == 1


def test_assistance_after_acceptance_is_refused(clerk, citizen, item, as_user):
    accepted = ApplicationFactory(item=item, applicant=citizen, accepted=True, clerk=clerk).number
    response = as_user(clerk).post(f"/api/v1/applications/{accepted}/assist/")
    assert response.status_code == 409
    assert Application.objects.get(number=accepted).assisted_by is None


def test_the_window_page_records_assistance(clerk, submitted, client):
    client.force_login(clerk)
    page = client.get(f"/window/cases/{submitted}/").content.decode()
    assert "登记我为帮办人员" in page
    client.post(f"/window/cases/{submitted}/assist/")
    page = client.get(f"/window/cases/{submitted}/").content.decode()
    assert "帮办人员" in page and "登记我为帮办人员" not in page
    assert Application.objects.get(number=submitted).assisted_by == clerk


def test_the_pickup_list_finds_a_case_by_the_collectors_id(son, licence, clerk, client):
    case = ApplicationFactory(item=licence, applicant=son, principal=PRINCIPAL, issued=True)
    client.force_login(clerk)
    for shown in (PRINCIPAL_ID, son.id_number):
        assert case.number in client.get("/window/pickup/", {"q": shown}).content.decode(), shown
    assert case.number not in client.get("/window/pickup/", {"q": resident_id(99, region="220106")}).content.decode()
