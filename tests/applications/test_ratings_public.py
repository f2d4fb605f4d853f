"""好差评公开 (DESIGN §15): `/ratings/` and `GET /api/v1/ratings/public/` — per department the valid ratings,
the satisfaction rate and the share of 差评 put right, for a year, with no personal data; cached briefly."""

import pytest
import time_machine
from django.core.cache import cache
from django.db import transaction
from django.test import Client

from applications import services
from applications.models import Application, Rectification, State
from tests.factories import ApplicationFactory, DepartmentFactory, UserFactory, published_item

pytestmark = pytest.mark.django_db


def rated_case(item, score, *, comment="", on="2026-11-10"):
    applicant = UserFactory(identified=True, real_name="钱多多")
    case = ApplicationFactory(item=item, applicant=applicant, submitted=True)
    case = ApplicationFactory.advance(case, to=State.APPROVED)
    with transaction.atomic():
        services.application_issue(actor=UserFactory(custodian=True), application=case)
    with time_machine.travel(f"{on} 10:00 +0800", tick=False):
        services.application_rate(actor=applicant, application=Application.objects.get(pk=case.pk), score=score,
                                  comment=comment or ("态度很差，材料被要求重复提交" if score >= 4 else "很好"))
    return case


@pytest.fixture
def rated(db):
    """市场监管局: 1, 2, 4 (rectified and confirmed by a supervisor), 5 (judged invalid) in 2026 and a 3 in
    2025; 卫生健康委: 5 (open)."""
    cache.clear()
    market, health = DepartmentFactory(name="市场监管局"), DepartmentFactory(name="卫生健康委")
    food = published_item(department=market, code="PUB-FOOD")
    hygiene = published_item(department=health, code="PUB-HYGIENE", name="公共场所卫生许可")
    rated_case(food, 1), rated_case(food, 2)
    poor = rated_case(food, 4)
    invalid = rated_case(food, 5, comment="与办件无关的内容")
    rated_case(food, 3, on="2025-06-01")
    rated_case(hygiene, 5)
    head = UserFactory(head=True, department=market)
    rectification = Rectification.objects.get(application=poor)
    services.rectification_start(actor=head, rectification=rectification, note="已电话回访申请人")
    services.rectification_complete(actor=head, rectification=Rectification.objects.get(pk=rectification.pk),
                                    note="已培训窗口人员，一次性告知清单上墙")
    supervisor = UserFactory(supervisor=True)
    services.rectification_confirm(actor=supervisor, rectification=Rectification.objects.get(pk=rectification.pk))
    services.rectification_invalidate(actor=supervisor,
                                      rectification=Rectification.objects.get(application=invalid), reason="与办件无关")
    cache.clear()
    return market, health


def test_the_year_per_department_counts_only_valid_ratings(rated):
    body = Client().get("/api/v1/ratings/public/", {"year": 2026}).json()
    assert body == {"year": 2026, "departments": [
        {"department": "市场监管局", "ratings": 3, "satisfied": 2, "satisfaction_rate": 0.6667, "poor": 1, "rectified": 1,
         "rectified_share": 1.0},
        {"department": "卫生健康委", "ratings": 1, "satisfied": 0, "satisfaction_rate": 0.0, "poor": 1, "rectified": 0,
         "rectified_share": 0.0},
    ], "complaints": []}  # none filed here (tests/applications/test_complaints.py counts them)
    earlier = Client().get("/api/v1/ratings/public/", {"year": 2025}).json()["departments"]
    assert [(row["department"], row["ratings"], row["satisfied"]) for row in earlier] == [("市场监管局", 1, 1)]


def test_the_page_is_public_shows_no_one_and_is_linked_from_home(rated):
    client = Client()
    assert "/ratings/" in client.get("/").content.decode()
    with time_machine.travel("2026-12-07 10:00 +0800", tick=False):
        html = client.get("/ratings/").content.decode()
    assert "市场监管局" in html and "67%" in html and "100%" in html
    assert "钱多多" not in html and "态度很差" not in html
    assert client.get("/ratings/", {"year": "1999"}).status_code == 404
    assert client.get("/api/v1/ratings/public/", {"year": "abc"}).status_code == 400


def test_the_figures_are_cached_briefly(rated):
    market, _health = rated
    first = Client().get("/api/v1/ratings/public/", {"year": 2026}).json()["departments"][0]["ratings"]
    rated_case(published_item(department=market, code="CACHE-ITEM"), 1)
    assert Client().get("/api/v1/ratings/public/", {"year": 2026}).json()["departments"][0]["ratings"] == first
    cache.clear()  # the five minutes have passed
    assert Client().get("/api/v1/ratings/public/", {"year": 2026}).json()["departments"][0]["ratings"] == first + 1


def test_a_rectification_not_yet_confirmed_is_not_counted_as_put_right(rated):
    market, _health = rated
    poor = rated_case(published_item(department=market, code="REVIEW-ITEM"), 4)
    head = UserFactory(head=True, department=market)
    rectification = Rectification.objects.get(application=poor)
    services.rectification_start(actor=head, rectification=rectification, note="已回访")
    services.rectification_complete(actor=head, rectification=Rectification.objects.get(pk=rectification.pk), note="已改进")
    cache.clear()
    row = Client().get("/api/v1/ratings/public/", {"year": 2026}).json()["departments"][0]
    assert (row["poor"], row["rectified"], row["rectified_share"]) == (2, 1, 0.5)
