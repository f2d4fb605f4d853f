"""法人 and 经办人 (DESIGN §13) through the real API: registering, agents, applying as the organisation, the
audience refusal, the organisation's certificate in every agent's wallet, 免交 for its cases, and an agent
removed mid-case."""

import pytest

from applications.models import Application, State
from applications.services import certificate_face_data
from certificates.models import Certificate, CertificateType
from organisations.models import Organisation, OrganisationAgent
from portal.models import AuditEvent
from tests.factories import ApplicationFactory, DepartmentFactory, UserFactory, credit_code, published_item, resident_id
from tests.files import pdf_file

CODE = credit_code(41)
FACE_FIELDS = ["经营者名称", "统一社会信用代码", "法定代表人（负责人）", "许可证编号"]


@pytest.fixture
def boss(db):
    return UserFactory(identified=True, real_name="王建国")


@pytest.fixture
def agent(db):
    return UserFactory(identified=True, real_name="陈晨")


@pytest.fixture
def agent2(db):
    return UserFactory(identified=True, real_name="赵磊")


@pytest.fixture
def company(boss, agent, agent2, as_user):
    """长春味道餐饮有限公司, registered by its legal representative, who added both agents online."""
    client = as_user(boss)
    response = client.post("/api/v1/organisations/", {
        "name": "长春味道餐饮有限公司", "credit_code": CODE, "kind": "2",
        "legal_rep_name": boss.real_name, "legal_rep_id": boss.id_number}, format="json")
    assert response.status_code == 201, response.content
    for person in (agent, agent2):
        added = client.post(f"/api/v1/organisations/{CODE}/agents/", {"id_number": person.id_number}, format="json")
        assert added.status_code == 201, added.content
    return Organisation.objects.get(credit_code=CODE)


@pytest.fixture
def food_type(db):
    department = DepartmentFactory(name="长春市市场监督管理局")
    return CertificateType.objects.create(
        code="FOOD-BIZ", name="食品经营许可证", department=department, validity_years=5, face_fields=FACE_FIELDS,
        face_field_types={"经营者名称": "org_name", "统一社会信用代码": "uscc", "法定代表人（负责人）": "person_name"},
        number_field="许可证编号",
    )


@pytest.fixture
def food_item(food_type):
    return published_item(department=food_type.department, certificate_type=food_type, audience=["2"])


def test_legal_representative_registers_the_organisation(company, boss, agent, agent2):
    assert (company.name, company.kind, company.legal_rep_id, company.legal_rep_name) == (
        "长春味道餐饮有限公司", "2", boss.pk, "王建国")
    assert set(company.agents.filter(removed_at__isnull=True).values_list("user_id", flat=True)) == {agent.pk, agent2.pk}
    assert AuditEvent.objects.filter(action="organisation_register", object_id=CODE).count() == 1


@pytest.mark.parametrize(("field", "changes", "message"), [
    ("credit_code", {"credit_code": "91220100MA0000041X"}, "校验位错误"),
    ("credit_code", {"credit_code": "9122010"}, "长度应为 18 位"),
    ("legal_rep_id_number", {"legal_rep_id": resident_id(7)}, "法定代表人本人"),
    ("legal_rep_id_number", {"legal_rep_name": "王建"}, "法定代表人本人"),
    ("kind", {"kind": "1"}, "主体类型"),
])
def test_bad_registration_names_the_field_and_stores_nothing(as_user, boss, field, changes, message):
    data = {"name": "长春味道餐饮有限公司", "credit_code": CODE, "kind": "2", "legal_rep_name": boss.real_name,
            "legal_rep_id": boss.id_number, **changes}
    response = as_user(boss).post("/api/v1/organisations/", data, format="json")
    assert response.status_code == 400
    body = response.json()
    assert any(message in text for text in body[field]), body
    assert not Organisation.objects.exists()


def test_a_credit_code_is_registered_once(company, as_user):
    other = UserFactory(identified=True, real_name="孙丽")
    response = as_user(other).post("/api/v1/organisations/", {
        "name": "另一家公司", "credit_code": CODE.lower(), "kind": "2", "legal_rep_name": other.real_name,
        "legal_rep_id": other.id_number}, format="json")
    assert response.status_code == 400 and "已登记" in response.json()["credit_code"][0]
    assert Organisation.objects.get().name == "长春味道餐饮有限公司"


def test_only_the_legal_representative_adds_agents_online(company, agent, as_user):
    stranger = UserFactory(identified=True, real_name="钱多")
    response = as_user(agent).post(f"/api/v1/organisations/{CODE}/agents/", {"id_number": stranger.id_number}, format="json")
    assert response.status_code == 403
    # Someone who does not act for it does not even see it.
    assert as_user(stranger).get(f"/api/v1/organisations/{CODE}/").status_code == 404
    assert not OrganisationAgent.objects.filter(user=stranger).exists()


def test_adding_an_unknown_person_needs_the_name_and_a_second_add_is_refused(company, boss, agent, as_user):
    client = as_user(boss)
    unknown = resident_id(77, region="220104")
    response = client.post(f"/api/v1/organisations/{CODE}/agents/", {"id_number": unknown}, format="json")
    assert response.status_code == 400 and "姓名" in response.json()["name"][0]
    again = client.post(f"/api/v1/organisations/{CODE}/agents/", {"id_number": agent.id_number}, format="json")
    assert again.status_code == 400 and "已是本单位的经办人" in again.json()["id_number"][0]
    added = client.post(f"/api/v1/organisations/{CODE}/agents/", {"id_number": unknown, "name": "周新"}, format="json")
    assert added.status_code == 201
    # A walk-in identity: they claim it when they register online.
    person = OrganisationAgent.objects.get(pk=added.json()["id"]).user
    assert (person.real_name, person.id_number, person.has_usable_password()) == ("周新", unknown, False)


def test_clerk_adds_an_agent_only_against_an_attorney_letter(company, clerk, api):
    api.force_authenticate(clerk)
    person = resident_id(88, region="220104")
    missing = api.post(f"/api/v1/organisations/{CODE}/agents/", {"id_number": person, "name": "吴越"}, format="multipart")
    assert missing.status_code == 400 and "授权委托书" in missing.json()["attorney_letter"][0]
    assert not OrganisationAgent.objects.filter(user__id_number=person).exists()
    disguised = api.post(f"/api/v1/organisations/{CODE}/agents/", {
        "id_number": person, "name": "吴越", "attorney_letter": pdf_file().__class__("委托书.pdf", b"<html>x</html>")},
        format="multipart")
    assert disguised.status_code == 400 and "file" in disguised.json()
    done = api.post(f"/api/v1/organisations/{CODE}/agents/", {
        "id_number": person, "name": "吴越", "attorney_letter": pdf_file("授权委托书.pdf")}, format="multipart")
    assert done.status_code == 201, done.content
    stored = OrganisationAgent.objects.get(pk=done.json()["id"])
    assert stored.attorney_letter.name and len(stored.attorney_letter_sha256) == 64 and stored.added_by == clerk


def test_an_agent_applies_as_the_organisation_and_every_agent_sees_the_case(company, agent, agent2, food_item, as_user):
    response = as_user(agent).post("/api/v1/applications/", {"item": food_item.code, "organisation": CODE}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["applicant"]["name"] == "长春味道餐饮有限公司" and body["applicant"]["id_type"] == "001"
    assert body["parties"]["organisation"]["credit_code"] == CODE and body["parties"]["agent"]["name"] == "陈晨"
    case = Application.objects.get(number=body["number"])
    assert (case.organisation, case.applicant, case.applicant_id_number) == (company, agent, CODE)
    # The second agent sees it, lists it, and may act on it; a stranger gets a 404.
    assert {"submit", "withdraw"} <= set(as_user(agent2).get(f"/api/v1/applications/{case.number}/").json()["available_actions"])
    assert case.number in [row["number"] for row in as_user(agent2).get("/api/v1/applications/").json()["results"]]
    assert as_user(UserFactory(identified=True)).get(f"/api/v1/applications/{case.number}/").status_code == 404


def test_applying_for_an_organisation_one_does_not_act_for_is_refused(company, food_item, as_user):
    stranger = UserFactory(identified=True, real_name="钱多")
    response = as_user(stranger).post("/api/v1/applications/", {"item": food_item.code, "organisation": CODE}, format="json")
    assert response.status_code == 400 and "不是「长春味道餐饮有限公司」的法定代表人或经办人" in response.json()["organisation"][0]
    unknown = as_user(stranger).post("/api/v1/applications/", {"item": food_item.code, "organisation": credit_code(99)},
                                     format="json")
    assert unknown.status_code == 400 and "尚未登记" in unknown.json()["organisation"][0]
    assert not Application.objects.exists()


def test_the_item_audience_decides_who_may_apply(company, agent, food_type, as_user):
    for_companies = published_item(department=food_type.department, audience=["2"], name="食品经营许可", code="ORG-ONLY")
    for_people = published_item(department=food_type.department, audience=["1"], name="结婚登记", code="PEOPLE-ONLY")
    as_person = as_user(agent).post("/api/v1/applications/", {"item": for_companies.code}, format="json")
    assert as_person.status_code == 400
    assert as_person.json()["item"] == ["「食品经营许可」的服务对象为企业法人，自然人（个人）不能申请；请以单位身份申请"]
    as_company = as_user(agent).post("/api/v1/applications/", {"item": for_people.code, "organisation": CODE}, format="json")
    assert as_company.status_code == 400
    assert as_company.json()["organisation"] == ["「结婚登记」的服务对象为自然人，企业法人「长春味道餐饮有限公司」不能申请"]
    assert not Application.objects.exists()


def test_the_organisation_holds_the_certificate_with_its_own_face_data(company, agent, agent2, boss, food_item, food_type,
                                                                      as_user):
    case = ApplicationFactory(item=food_item, applicant=agent, organisation=CODE, issued=True)
    certificate = Certificate.objects.get(identifier=case.certificate_identifier)
    assert (certificate.holder_id, certificate.holder_name, certificate.holder_id_type, certificate.holder_id_number) == (
        None, "长春味道餐饮有限公司", "001", CODE)
    assert certificate.face_data["经营者名称"] == "长春味道餐饮有限公司"
    assert certificate.face_data["统一社会信用代码"] == CODE
    assert certificate.face_data["法定代表人（负责人）"] == "王建国"
    for person in (agent, agent2, boss):
        listed = as_user(person).get("/api/v1/certificates/").json()["results"]
        assert [row["identifier"] for row in listed] == [certificate.identifier], person
        assert as_user(person).get(f"/api/v1/certificates/{certificate.identifier}/pdf/").status_code == 200
    assert as_user(UserFactory(identified=True)).get(f"/api/v1/certificates/{certificate.identifier}/").status_code == 404


def test_a_person_case_never_gets_a_credit_code_from_the_id_number(agent, food_type):
    item = published_item(department=food_type.department, certificate_type=food_type, audience=["1", "2"])
    case = ApplicationFactory(item=item, applicant=agent, in_review=True)
    values, missing = certificate_face_data(case)
    assert values["统一社会信用代码"] == "" and "统一社会信用代码" in missing
    # Nor the business's name from the person's (issue 17): the person is who answers for it.
    assert values["经营者名称"] == "" and values["法定代表人（负责人）"] == "陈晨"


def test_the_apply_page_refuses_an_audience_the_applicant_is_not_in(company, agent, food_item, client):
    """The page as the API: filing an organisation-only item in person shows the refusal naming the audience on
    the form, keeps what was typed and stores nothing."""
    client.force_login(agent)
    page = client.post(f"/apply/{food_item.code}/", {"applying_as": "self", "description": "开办餐馆",
                                                     "contact_phone": "13800000000"})
    body = page.content.decode()
    assert page.status_code == 200
    assert "的服务对象为企业法人，自然人（个人）不能申请；请以单位身份申请" in body and "开办餐馆" in body
    assert not Application.objects.exists()


def test_the_organisations_certificate_stands_in_for_its_cases_not_its_agents_own(company, agent, food_item, food_type,
                                                                                  as_user):
    ApplicationFactory(item=food_item, applicant=agent, organisation=CODE, issued=True)
    needs_licence = published_item(department=food_type.department, audience=["1", "2"], name="食品经营许可（变更）",
                                   code="NEEDS-LICENCE",
                                   materials=[{"name": "食品经营许可证", "form": "original", "required": True,
                                               "satisfied_by": food_type}])
    as_company = as_user(agent).post("/api/v1/applications/", {"item": needs_licence.code, "organisation": CODE},
                                     format="json").json()
    assert [m["status"] for m in as_company["materials"]] == ["satisfied"]
    assert as_user(agent).post(f"/api/v1/applications/{as_company['number']}/submit/").status_code == 200
    as_person = as_user(agent).post("/api/v1/applications/", {"item": needs_licence.code}, format="json").json()
    assert [m["status"] for m in as_person["materials"]] == ["missing"]


def test_a_removed_agent_loses_the_organisation_mid_case(company, boss, agent, agent2, food_item, as_user):
    case = ApplicationFactory(item=food_item, applicant=agent, organisation=CODE, submitted=True)
    link = OrganisationAgent.objects.get(organisation=company, user=agent, removed_at__isnull=True)
    response = as_user(boss).delete(f"/api/v1/organisations/{CODE}/agents/{link.pk}/")
    assert response.status_code == 200
    assert as_user(agent).get(f"/api/v1/applications/{case.number}/").status_code == 404
    assert as_user(agent).post(f"/api/v1/applications/{case.number}/withdraw/").status_code == 404
    again = as_user(agent).post("/api/v1/applications/", {"item": food_item.code, "organisation": CODE}, format="json")
    assert again.status_code == 400 and "organisation" in again.json()
    # The organisation's case goes on with its other agent; removing twice is a 409.
    assert as_user(agent2).post(f"/api/v1/applications/{case.number}/withdraw/").status_code == 200
    assert Application.objects.get(pk=case.pk).state == State.WITHDRAWN
    assert as_user(boss).delete(f"/api/v1/organisations/{CODE}/agents/{link.pk}/").status_code == 409


def test_a_removed_agent_loses_the_case_pages_and_the_legal_representative_carries_on(company, boss, agent, food_item,
                                                                                         client):
    """The pages as the API: removed on 我的单位, the agent's 我的办件 no longer lists the organisation's case, its
    page and its actions are 404 and change nothing; the legal representative sees it and may still act."""
    case = ApplicationFactory(item=food_item, applicant=agent, organisation=CODE, submitted=True)
    client.force_login(agent)
    assert case.number in client.get("/my/cases/").content.decode()
    link = OrganisationAgent.objects.get(organisation=company, user=agent, removed_at__isnull=True)
    client.force_login(boss)
    client.post(f"/organisations/{CODE}/agents/{link.pk}/remove/")
    assert AuditEvent.objects.filter(action="organisation_agent_remove", object_id=CODE).count() == 1

    client.force_login(agent)
    assert case.number not in client.get("/my/cases/").content.decode()
    assert client.get(f"/my/cases/{case.number}/").status_code == 404
    assert client.post(f"/my/cases/{case.number}/withdraw/", {"reason": "不办了"}).status_code == 404
    assert Application.objects.get(pk=case.pk).state == State.SUBMITTED
    assert "长春味道餐饮有限公司" not in client.get("/organisations/").content.decode()
    assert client.get(f"/organisations/{CODE}/").status_code == 404
    page = client.post(f"/apply/{food_item.code}/", {"applying_as": f"org:{CODE}", "description": "再办一次",
                                                     "contact_phone": "13800000000"})
    assert page.status_code == 200 and Application.objects.count() == 1
    assert page.context["form"].errors["applying_as"] == [
        "您已不是该单位的法定代表人或经办人，不能以单位名义申请；请选择本人申请，或请单位法定代表人重新授权"]
    assert "您已不是该单位的法定代表人或经办人" in page.content.decode()
    client.force_login(boss)
    assert client.get(f"/my/cases/{case.number}/").status_code == 200
    assert client.post(f"/my/cases/{case.number}/withdraw/", {"reason": "不办了"}).status_code == 302
    assert Application.objects.get(pk=case.pk).state == State.WITHDRAWN


def test_a_removed_agent_loses_the_certificate_and_cannot_collect_it(company, agent, agent2, food_item, clerk, client,
                                                                    as_user):
    """Removed after the certificate was issued: gone from their wallet, its PDF a 404, and at the window their ID
    neither finds the case nor collects it (代领 is for current agents only); nothing recorded as delivered."""
    case = ApplicationFactory(item=food_item, applicant=agent, organisation=CODE, issued=True)
    certificate = Certificate.objects.get(identifier=case.certificate_identifier)
    link = OrganisationAgent.objects.get(organisation=company, user=agent, removed_at__isnull=True)
    assert as_user(company.legal_rep).delete(f"/api/v1/organisations/{CODE}/agents/{link.pk}/").status_code == 200

    client.force_login(agent)
    assert certificate.identifier not in client.get("/my/certificates/").content.decode()
    assert client.get(f"/certificates/{certificate.identifier}/pdf/").status_code == 404
    assert as_user(agent).get("/api/v1/certificates/").json()["results"] == []
    client.force_login(agent2)
    assert certificate.identifier in client.get("/my/certificates/").content.decode()

    client.force_login(clerk)
    assert case.number not in client.get("/window/pickup/", {"q": agent.id_number}).content.decode()
    refused = as_user(clerk).post(f"/api/v1/applications/{case.number}/deliver/",
                                  {"method": "pickup", "id_number": agent.id_number}, format="json")
    assert refused.status_code == 400 and "领取人证件号码与申请人不符" in refused.json()["id_number"][0]
    case.refresh_from_db()
    assert (case.state, case.delivered_at, case.visits) == (State.ISSUED, None, 0)


def test_clerk_registers_an_organisation_case_for_the_agent_at_the_window(company, agent, clerk, food_item, as_user):
    client = as_user(clerk)
    stranger = {"name": "钱多", "id_type": "111", "id_number": resident_id(55, region="220104")}
    refused = client.post("/api/v1/applications/", {"item": food_item.code, "organisation": CODE, "applicant": stranger},
                          format="json")
    assert refused.status_code == 400 and "organisation" in refused.json()
    present = {"name": agent.real_name, "id_type": "111", "id_number": agent.id_number}
    done = client.post("/api/v1/applications/", {"item": food_item.code, "organisation": CODE, "applicant": present},
                       format="json")
    assert done.status_code == 201, done.content
    case = Application.objects.get(number=done.json()["number"])
    assert (case.organisation, case.applicant, case.channel) == (company, agent, "window")
    assert Application.objects.count() == 1


def test_clerk_registers_an_organisation_and_its_legal_representative_at_the_window(clerk, as_user):
    rep_id = resident_id(61, region="220104")
    response = as_user(clerk).post("/api/v1/organisations/", {
        "name": "南关区惠民超市", "credit_code": credit_code(61), "kind": "2", "legal_rep_name": "李强",
        "legal_rep_id": rep_id}, format="json")
    assert response.status_code == 201, response.content
    organisation = Organisation.objects.get(credit_code=credit_code(61))
    assert (organisation.legal_rep.id_number, organisation.legal_rep.real_name, organisation.created_by) == (rep_id, "李强", clerk)


@pytest.fixture
def company_bundle(food_type):
    """开办餐饮店 whose member items are for companies only, as in the demo catalogue."""
    from items.models import Bundle, BundleMember

    tax_department = DepartmentFactory(name="国家税务总局长春市税务局")
    food = published_item(department=food_type.department, audience=["2", "5"], code="BUNDLE-FOOD",
                          name="食品经营许可（新办）")
    tax = published_item(department=tax_department, audience=["2", "5"], code="BUNDLE-TAX", name="新办纳税人涉税事项套餐")
    bundle = Bundle.objects.create(code="YJS-KBCYD", name="开办餐饮店", theme="business_startup", status="published")
    BundleMember.objects.create(bundle=bundle, item=food, order=1)
    BundleMember.objects.create(bundle=bundle, item=tax, order=2)
    return bundle


def test_an_agent_files_a_bundle_as_the_organisation(company, agent, agent2, company_bundle, as_user):
    as_person = as_user(agent).post(f"/api/v1/bundles/{company_bundle.code}/applications/", {}, format="json")
    assert as_person.status_code == 400 and "请以单位身份申请" in as_person.json()["item"][0]
    assert not Application.objects.exists()
    response = as_user(agent).post(f"/api/v1/bundles/{company_bundle.code}/applications/", {"organisation": CODE},
                                   format="json")
    assert response.status_code == 201, response.content
    parent = Application.objects.get(number=response.json()["number"])
    family = [parent, *parent.children.all()]
    assert len(family) == 3
    assert {(case.organisation_id, case.applicant_id_number, case.applicant_name) for case in family} == {
        (company.pk, CODE, "长春味道餐饮有限公司")}
    # The other agent sees the bundle and each of its cases.
    seen = as_user(agent2).get(f"/api/v1/applications/{parent.number}/")
    assert seen.status_code == 200 and len(seen.json()["children"]) == 2


def test_the_bundle_page_offers_the_organisation(company, agent, company_bundle, client):
    client.force_login(agent)
    page = client.get(f"/apply/bundle/{company_bundle.code}/?as={CODE}").content.decode()
    assert f'value="org:{CODE}"' in page and "以单位名义申请：长春味道餐饮有限公司" in page
    response = client.post(f"/apply/bundle/{company_bundle.code}/", {"applying_as": f"org:{CODE}",
                                                                    "contact_phone": "13800000000"})
    assert response.status_code == 302
    parent = Application.objects.get(parent__isnull=True)
    assert parent.organisation == company and parent.children.filter(organisation=company).count() == 2


def test_the_apply_page_refuses_principal_data_when_filing_in_person(agent, food_type, client):
    item = published_item(department=food_type.department, audience=["1"], code="PERSONAL")
    client.force_login(agent)
    response = client.post(f"/apply/{item.code}/", {
        "applying_as": "self", "principal_name": "孙桂兰", "principal_id_number": resident_id(31, region="220105"),
        "description": "代母亲办理", "contact_phone": "13800000000"})
    assert response.status_code == 200 and "已填写委托人信息" in response.content.decode()
    assert not Application.objects.exists()


def test_an_agent_collects_the_organisations_result_at_the_window(company, boss, agent, agent2, food_item, clerk,
                                                                   client, as_user):
    case = ApplicationFactory(item=food_item, applicant=agent, organisation=CODE, issued=True)
    client.force_login(clerk)
    stranger = resident_id(98, region="220106")
    for shown in (agent2.id_number, boss.id_number, CODE):
        assert case.number in client.get("/window/pickup/", {"q": shown}).content.decode(), shown
    assert case.number not in client.get("/window/pickup/", {"q": stranger}).content.decode()
    refused = as_user(clerk).post(f"/api/v1/applications/{case.number}/deliver/", {"method": "pickup", "id_number": stranger},
                                  format="json")
    assert refused.status_code == 400 and Application.objects.get(pk=case.pk).state == State.ISSUED
    done = as_user(clerk).post(f"/api/v1/applications/{case.number}/deliver/",
                               {"method": "pickup", "id_number": agent2.id_number}, format="json")
    assert done.status_code == 200 and Application.objects.get(pk=case.pk).state == State.DELIVERED


def test_the_organisation_pages_register_and_manage_agents(boss, agent, client):
    client.force_login(boss)
    page = client.get("/organisations/").content.decode()
    assert "登记单位（法定代表人本人办理）" in page and boss.id_number in page  # prefilled from the real-name data
    bad = client.post("/organisations/", {"name": "长春味道餐饮有限公司", "credit_code": CODE[:-1] + "0", "kind": "2",
                                          "legal_rep_name": boss.real_name, "legal_rep_id_number": boss.id_number})
    assert bad.status_code == 200 and "统一社会信用代码校验位错误" in bad.content.decode()
    assert not Organisation.objects.exists()
    done = client.post("/organisations/", {"name": "长春味道餐饮有限公司", "credit_code": CODE, "kind": "2",
                                           "legal_rep_name": boss.real_name, "legal_rep_id_number": boss.id_number})
    assert done.status_code == 302 and done["Location"] == f"/organisations/{CODE}/"
    added = client.post(f"/organisations/{CODE}/", {"id_number": agent.id_number})
    assert added.status_code == 302
    link = OrganisationAgent.objects.get(user=agent, removed_at__isnull=True)
    detail = client.get(f"/organisations/{CODE}/").content.decode()
    assert "<td>陈晨</td>" in detail and "解除授权" in detail
    client.post(f"/organisations/{CODE}/agents/{link.pk}/remove/")
    link.refresh_from_db()
    assert link.removed_at is not None and link.removed_by == boss
    after = client.get(f"/organisations/{CODE}/").content.decode()
    assert "已解除 陈晨 的经办人授权" in after and "<td>陈晨</td>" not in after


def test_an_agent_sees_the_organisation_page_but_cannot_manage_it(company, agent, client):
    client.force_login(agent)
    page = client.get(f"/organisations/{CODE}/")
    assert page.status_code == 200 and "添加经办人" not in page.content.decode()
    assert client.post(f"/organisations/{CODE}/", {"id_number": resident_id(5)}).status_code == 404
    link = OrganisationAgent.objects.filter(organisation=company).first()
    assert client.post(f"/organisations/{CODE}/agents/{link.pk}/remove/").status_code == 404
    assert OrganisationAgent.objects.filter(organisation=company, removed_at__isnull=True).count() == 2
    client.force_login(UserFactory(identified=True))
    assert client.get(f"/organisations/{CODE}/").status_code == 404


def test_the_clerk_finds_the_organisation_and_adds_an_agent_with_the_letter(company, clerk, client):
    client.force_login(clerk)
    found = client.get("/organisations/", {"credit_code": CODE.lower()}).content.decode()
    assert "单位登记" in found and f'href="/organisations/{CODE}/"' in found
    person = resident_id(66, region="220104")
    without = client.post(f"/organisations/{CODE}/", {"id_number": person, "name": "吴越"})
    assert without.status_code == 400 and "授权委托书" in without.content.decode()
    done = client.post(f"/organisations/{CODE}/", {"id_number": person, "name": "吴越",
                                                   "attorney_letter": pdf_file("授权委托书.pdf")})
    assert done.status_code == 302
    assert OrganisationAgent.objects.get(user__id_number=person).attorney_letter_sha256
    assert "窗口（授权委托书）" in client.get(f"/organisations/{CODE}/").content.decode()
