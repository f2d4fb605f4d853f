"""The demo catalogue (items/demo/catalogue.json) loads through the importer, is realistic and idempotent."""

import pytest

import items.demo
import portal.demo
from items.models import Handling, Item, ItemVersion, MaterialRequirement, Theme
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db


def load_demo():
    portal.demo.load()
    return items.demo.load()


def test_demo_catalogue_covers_the_city_and_loads_once(api):
    assert load_demo() == []
    versions = ItemVersion.objects.filter(current_for__isnull=False).select_related("department")
    assert versions.count() >= 40
    assert len({version.department.code for version in versions}) >= 10
    assert {version.level for version in versions} >= {"3", "4", "5"}
    assert {version.handling for version in versions} == {Handling.INSTANT, Handling.PROMISED}
    names = " ".join(version.name for version in versions)
    for topic in ["公积金提取", "医疗保险参保", "结婚登记", "生育登记", "有限责任公司设立", "食品经营许可",
                  "个体工商户设立", "道路货物运输", "不动产", "护照"]:
        assert topic in names, topic
    assert MaterialRequirement.objects.filter(satisfied_by__code="BIZ-LICENSE").exists()
    assert MaterialRequirement.objects.exclude(blank_form="").exists()
    themes = {theme for version in versions for theme in version.themes}
    assert {Theme.HOUSING_FUND, Theme.MEDICAL_INSURANCE, Theme.MARRIAGE, Theme.BIRTH, Theme.BUSINESS_STARTUP} <= themes
    for version in versions:
        assert version.promised_days <= version.statutory_days
        assert version.legal_basis and version.conditions and version.procedure

    counts = (Item.objects.count(), ItemVersion.objects.count(), MaterialRequirement.objects.count(), AuditEvent.objects.count())
    load_demo()
    assert (Item.objects.count(), ItemVersion.objects.count(), MaterialRequirement.objects.count(), AuditEvent.objects.count()) == counts

    found = api.get("/api/v1/items/", {"search": "食品"}).json()
    assert any(result["name"].startswith("食品经营许可") for result in found["results"])
    blank = MaterialRequirement.objects.exclude(blank_form="").first()
    response = api.get(f"/guide/files/{blank.pk}/blank_form/")
    assert response.status_code == 200 and response["Content-Disposition"].endswith('.xlsx"')
