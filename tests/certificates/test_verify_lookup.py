"""Public verification by identifier or licence number, in any letter case (DESIGN §14): the type's public face
fields and nothing else, the status (valid, superseded with the version in force, revoked with its reason),
every version that carries the number, and lookups the indexes answer."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from certificates.services import certificate_revoke
from tests.certificates.factories import PERSON_ID, PERSON_ID_MASKED, CertificateTypeFactory, issue_certificate
from tests.factories import credit_code

pytestmark = pytest.mark.django_db

NUMBER = "JY1202600000001"
FACE = {"经营者名称": "长春市南关区张伟餐馆", "统一社会信用代码": credit_code(7), "经营场所": "吉林省长春市南关区人民大街1号",
        "负责人身份证号": PERSON_ID, "许可证编号": NUMBER}


@pytest.fixture
def typed_type(ccsj):
    # The ID number is marked public here only to show it is masked all the same (the catalogue refuses it).
    return CertificateTypeFactory(
        code="FOOD-BIZ", name="食品经营许可证", department=ccsj, validity_years=5, face_fields=list(FACE),
        face_field_types={"经营者名称": "org_name", "统一社会信用代码": "uscc", "负责人身份证号": "id_number"},
        public_fields=["经营者名称", "许可证编号", "负责人身份证号"], number_field="许可证编号", number_format="JY1{year}{seq:08}",
    )


@pytest.fixture
def licence(typed_type, holder):
    return issue_certificate(certificate_type=typed_type, holder=holder, face_data=FACE)


def page(address: str, **params):
    return Client().get(address, params)


def test_the_licence_number_is_stored_on_the_certificate(licence):
    assert licence.licence_number == NUMBER


def test_verify_by_licence_number_in_other_letter_case_shows_the_public_fields_only(licence):
    response = page("/verify/", identifier=f"  {NUMBER.lower()} ")
    assert response.status_code == 200
    body = response.content.decode()
    assert '<p class="status-big" id="status-title">有效</p>' in body and licence.identifier in body
    assert "<dt>经营者名称</dt><dd>长春市南关区张伟餐馆</dd>" in body and f"<dt>许可证编号</dt><dd>{NUMBER}</dd>" in body
    assert "吉林省长春市南关区人民大街1号" not in body  # 经营场所 is not public
    assert credit_code(7) not in body  # nor the credit code on this type
    assert PERSON_ID not in body and PERSON_ID_MASKED in body  # an ID number never in full


def test_the_identifier_page_and_the_api_take_a_licence_number_and_any_letter_case(licence):
    for address in (f"/verify/{NUMBER.lower()}/", f"/verify/{licence.identifier.lower()}/"):
        response = page(address)
        assert response.status_code == 200, address
        assert licence.identifier in response.content.decode()
    for address in (f"/api/v1/verify/{NUMBER.lower()}/", f"/api/v1/verify/{licence.identifier.lower()}/"):
        body = Client().get(address).json()
        assert body["identifier"] == licence.identifier, address
        assert body["licence_number"] == NUMBER
        assert body["public_fields"] == [{"name": "经营者名称", "value": "长春市南关区张伟餐馆"},
                                         {"name": "负责人身份证号", "value": PERSON_ID_MASKED},
                                         {"name": "许可证编号", "value": NUMBER}]
        assert PERSON_ID not in str(body) and "人民大街" not in str(body) and body["other_versions"] == []


def test_the_verify_form_sends_an_identifier_to_its_page_in_any_case(licence):
    response = page("/verify/", identifier=licence.identifier.lower())
    assert response.status_code == 302
    assert page(response.url).status_code == 200


def test_an_unknown_licence_number_is_a_404(licence):
    response = page("/verify/", identifier="JY1202600000002")
    assert response.status_code == 404
    body = response.content.decode()
    assert "本平台没有签发过该许可证编号" in body and "JY1202600000002" in body
    assert Client().get("/api/v1/verify/JY1202600000002/").status_code == 404


def test_a_licence_number_of_several_versions_shows_the_current_first_and_the_others_superseded(licence, typed_type, holder, head):
    renewed = issue_certificate(certificate_type=typed_type, holder=holder, face_data=FACE, previous=licence)
    assert renewed.licence_number == licence.licence_number == NUMBER
    body = page("/verify/", identifier=NUMBER).content.decode()
    assert '<p class="status-big" id="status-title">有效</p>' in body
    assert body.index(renewed.identifier) < body.index(licence.identifier)
    others = body[body.index("同一许可证编号的其他版本"):]
    assert licence.identifier in others and "已换发" in others and renewed.identifier not in others
    api = Client().get(f"/api/v1/verify/{NUMBER}/").json()
    assert api["identifier"] == renewed.identifier and api["status"] == "valid"
    assert [(v["identifier"], v["status"], v["status_display"]) for v in api["other_versions"]] == [
        (licence.identifier, "superseded", "已换发")]
    # The old version's own page says it was superseded and names the one in force.
    old = page(f"/verify/{licence.identifier}/").content.decode()
    assert '<p class="status-big" id="status-title">已换发</p>' in old and renewed.identifier in old
    # Revoked, the newest is still shown first, with why.
    certificate_revoke(actor=head, certificate=renewed, reason="申请人申请注销")
    body = page("/verify/", identifier=NUMBER).content.decode()
    assert '<p class="status-big" id="status-title">已注销</p>' in body and "注销原因：申请人申请注销" in body
    assert body.index(renewed.identifier) < body.index(licence.identifier)
    assert Client().get(f"/api/v1/verify/{NUMBER}/").json()["revoke_reason"] == "申请人申请注销"


def test_the_lookups_use_the_indexes(licence):
    """The register grows with every licence: a lookup must not read it all (certificate_licence_number_idx is
    a partial index on UPPER(licence_number); the identifier's unique index answers the identifier)."""
    with CaptureQueriesContext(connection) as queries:
        assert page(f"/verify/{NUMBER.lower()}/").status_code == 200
    lookup = next(q["sql"] for q in queries.captured_queries if "UPPER" in q["sql"] and "licence_number" in q["sql"])
    with connection.cursor() as cursor:
        # Re-run the query exactly as sent, as EXPLAIN: the captured SQL has its parameters inlined.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + lookup)
        explained = "\n".join(row[0] for row in cursor.fetchall())
    assert "certificate_licence_number_idx" in explained, explained
    with CaptureQueriesContext(connection) as queries:
        assert page(f"/verify/{licence.identifier.lower()}/").status_code == 200
    lookup = next(q["sql"] for q in queries.captured_queries if '"certificates_certificate"."identifier" IN (' in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + lookup)
        explained = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index" in explained and "Seq Scan on certificates_certificate" not in explained, explained


def test_licence_number_lookups_count_against_the_verification_limit(licence):
    """The register must not be walked by guessing numbers (sequences are guessable): the form's lookups share
    the identifier page's count (120 a minute per client); opening the empty form is not counted."""
    client = Client()
    assert all(client.get("/verify/").status_code == 200 for _ in range(3))
    statuses = [client.get("/verify/", {"identifier": f"JY1202699{n:06}"}).status_code for n in range(121)]
    assert set(statuses[:120]) == {404} and statuses[120] == 429
    assert client.get(f"/verify/{NUMBER}/").status_code == 429


def test_what_cannot_be_a_licence_number_is_simply_not_found(licence):
    for typed in ("JY1\x00", "x" * 61):
        assert Client().get(f"/api/v1/verify/{typed}/").status_code == 404, repr(typed)
        assert page(f"/verify/{typed}/").status_code == 404, repr(typed)
    assert page("/verify/", identifier="x" * 61).status_code == 404
    assert page("/verify/", identifier="JY1\x00").status_code == 400  # refused before any lookup
