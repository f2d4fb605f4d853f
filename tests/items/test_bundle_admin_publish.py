"""Publishing a 一件事 in the admin (DESIGN §4 "Bundles"): only through items.services.bundle_publish, audited;
the status is never edited in the change form; only catalogue admins publish."""

import pytest
from django.core.exceptions import PermissionDenied

from items.models import Bundle, BundleMember, Item, VersionStatus
from items.services import bundle_publish, catalogue_import
from portal.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FOOD = "11220100MB1234567K4000117001000"
FUND = "11220100MB1234567K2000200001000"


@pytest.fixture
def admin_user():
    return UserFactory(catalogue_admin=True, real_name="赵敏")


@pytest.fixture
def draft_bundle(catalogue):
    """A draft bundle over the two published items of the catalogue fixture, imported as a file would."""
    catalogue["bundles"] = [{
        "code": "YJS-TEST", "name": "开办餐饮店", "theme": "business_startup", "status": "draft",
        "items": [FOOD, FUND],
        "fields": [{"name": "shop_name", "label": "店铺名称", "items": []}],
        "materials": [{"name": "身份证明", "maps": {FOOD: "营业执照", FUND: "居民身份证"}}],
    }]
    catalogue_import(data=catalogue, actor=None)
    return Bundle.objects.get(code="YJS-TEST")


def _management_forms(page) -> dict:
    """Empty inline formsets, with the prefixes the change form really uses."""
    data = {}
    for inline in page.context["inline_admin_formsets"]:
        prefix = inline.formset.prefix
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0",
                     f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"})
    return data


def test_catalogue_admin_publishes_a_bundle_through_the_service(client, admin_user, draft_bundle):
    client.force_login(admin_user)
    assert client.get(f"/guide/bundles/{draft_bundle.code}/").status_code == 404
    page = client.get(f"/admin/items/bundle/{draft_bundle.pk}/change/").content.decode()
    assert f'action="/admin/items/bundle/{draft_bundle.pk}/publish/"' in page

    response = client.post(f"/admin/items/bundle/{draft_bundle.pk}/publish/")

    assert response.status_code == 302 and response.url == f"/admin/items/bundle/{draft_bundle.pk}/change/"
    assert Bundle.objects.get(pk=draft_bundle.pk).status == VersionStatus.PUBLISHED
    event = AuditEvent.objects.get(action="bundle_publish")
    assert (event.actor, event.role, event.object_type, event.object_id) == (
        admin_user, "catalogue_admin", "bundle", "YJS-TEST")
    assert (event.from_state, event.to_state) == ("draft", "published")
    assert client.get(f"/guide/bundles/{draft_bundle.code}/").status_code == 200
    assert "/publish/" not in client.get(f"/admin/items/bundle/{draft_bundle.pk}/change/").content.decode()


def test_admin_action_publishes_the_valid_bundles_and_names_the_refused(client, admin_user, draft_bundle):
    lonely = Bundle.objects.create(code="YJS-ONE", name="只有一个事项", status=VersionStatus.DRAFT)
    BundleMember.objects.create(bundle=lonely, item=Item.objects.get(code=FOOD), order=1)
    client.force_login(admin_user)

    response = client.post(
        "/admin/items/bundle/",
        {"action": "publish_selected", "_selected_action": [draft_bundle.pk, lonely.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert "YJS-ONE 未发布：一件事至少包含两个事项" in response.content.decode()
    assert Bundle.objects.get(pk=draft_bundle.pk).status == VersionStatus.PUBLISHED
    assert Bundle.objects.get(pk=lonely.pk).status == VersionStatus.DRAFT
    assert list(AuditEvent.objects.filter(action="bundle_publish").values_list("object_id", flat=True)) == ["YJS-TEST"]


def test_the_status_is_not_editable_in_the_change_form(client, admin_user, draft_bundle):
    client.force_login(admin_user)
    page = client.get(f"/admin/items/bundle/{draft_bundle.pk}/change/")
    assert page.status_code == 200 and 'name="status"' not in page.content.decode()

    data = {"code": "YJS-TEST", "name": "开办餐饮店（改）", "theme": "business_startup", "description": "",
            "status": VersionStatus.PUBLISHED, **_management_forms(page)}
    response = client.post(f"/admin/items/bundle/{draft_bundle.pk}/change/", data)

    assert response.status_code == 302
    bundle = Bundle.objects.get(pk=draft_bundle.pk)
    assert bundle.name == "开办餐饮店（改）" and bundle.status == VersionStatus.DRAFT
    assert not AuditEvent.objects.filter(action="bundle_publish").exists()


def test_a_new_bundle_is_a_draft_whatever_the_form_posts(client, admin_user):
    client.force_login(admin_user)
    page = client.get("/admin/items/bundle/add/")
    data = {"code": "YJS-NEW", "name": "新的一件事", "theme": "", "description": "",
            "status": VersionStatus.PUBLISHED, **_management_forms(page)}

    response = client.post("/admin/items/bundle/add/", data)

    assert response.status_code == 302
    assert Bundle.objects.get(code="YJS-NEW").status == VersionStatus.DRAFT


def test_only_catalogue_admins_publish_a_bundle(client, draft_bundle):
    reviewer = UserFactory(reviewer=True, is_staff=True)
    client.force_login(reviewer)

    assert client.post(f"/admin/items/bundle/{draft_bundle.pk}/publish/").status_code == 403
    response = client.post("/admin/items/bundle/", {"action": "publish_selected", "_selected_action": [draft_bundle.pk]})
    assert response.status_code == 403
    with pytest.raises(PermissionDenied):
        bundle_publish(bundle=draft_bundle, actor=reviewer)

    client.force_login(UserFactory())  # not staff: the admin sends them to its login page
    response = client.post(f"/admin/items/bundle/{draft_bundle.pk}/publish/")
    assert response.status_code == 302 and response.url.startswith("/admin/login/")

    assert Bundle.objects.get(pk=draft_bundle.pk).status == VersionStatus.DRAFT
    assert not AuditEvent.objects.filter(action="bundle_publish").exists()
