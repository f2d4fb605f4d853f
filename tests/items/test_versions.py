"""Versioning (DESIGN §4): drafts, publication as N+1, frozen published versions, history, admin publish."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from items.models import Item, ItemVersion, MaterialRequirement, PublishedVersionError, VersionStatus
from items.selectors import item_history
from items.services import item_draft_from_current, item_publish
from portal.models import AuditEvent
from tests.factories import DepartmentFactory, UserFactory
from tests.items.factories import CertificateTypeFactory, ItemVersionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user():
    return UserFactory(catalogue_admin=True, real_name="赵敏")


def test_publish_freezes_the_draft_as_the_next_version_and_audits(admin_user):
    first = ItemVersionFactory(publish=True)
    item = first.item
    draft = item_draft_from_current(item=item, actor=admin_user)
    draft.promised_days = 3
    draft.save()

    version = item_publish(item=item, actor=admin_user, change_note="压缩承诺时限")

    item.refresh_from_db()
    assert item.current_version == version
    assert (version.number, version.status) == (2, VersionStatus.PUBLISHED)
    assert version.valid_from == timezone.localdate() and version.published_by == admin_user
    assert version.change_note == "压缩承诺时限"
    first.refresh_from_db()
    assert first.status == VersionStatus.PUBLISHED and first.promised_days == 5
    event = AuditEvent.objects.filter(action="item_publish").latest("seq")
    assert (event.actor, event.role, event.object_type, event.object_id) == (admin_user, "catalogue_admin", "item", item.code)
    assert event.payload == {"version": 2}
    # Stored lower-cased for a cheap LIKE; the API search lower-cases the terms the same way.
    assert version.search_text.count(version.name) == 1 and item.code.lower() in version.search_text


def test_a_published_version_refuses_every_in_place_edit():
    version = ItemVersionFactory(publish=True, materials=[{"name": "申请书"}])
    loaded = ItemVersion.objects.get(pk=version.pk)
    loaded.promised_days = 1
    with pytest.raises(PublishedVersionError):
        loaded.save()
    with pytest.raises(PublishedVersionError):
        ItemVersion.objects.filter(pk=version.pk).update(name="改名")
    with pytest.raises(PublishedVersionError):
        loaded.delete()
    material = MaterialRequirement.objects.get(version=version)
    material.name = "改名"
    with pytest.raises(PublishedVersionError):
        material.save()
    with pytest.raises(PublishedVersionError):
        material.delete()
    with pytest.raises(PublishedVersionError):
        MaterialRequirement(version=version, name="新增材料").save()
    department = DepartmentFactory()
    # M2M writes run in the caller's transaction: a savepoint keeps the test's usable after the refusal.
    with pytest.raises(PublishedVersionError), transaction.atomic():
        loaded.joint_departments.add(department)
    fresh = ItemVersion.objects.get(pk=version.pk)
    assert fresh.promised_days == 5 and fresh.name == version.name
    assert list(fresh.materials.values_list("name", flat=True)) == ["申请书"]


def test_a_new_draft_copies_the_current_version_and_its_materials(admin_user):
    certificate_type = CertificateTypeFactory(code="BIZ-LICENSE", name="营业执照")
    joint = DepartmentFactory()
    current = ItemVersionFactory(
        materials=[
            {"name": "申请书", "blank_form": "items/forms/2026/form.pdf", "notes": "签字"},
            {"name": "营业执照", "satisfied_by": certificate_type, "deferrable": True},
        ],
        themes=["food_safety"],
        result_name="食品经营许可证",
    )
    current.joint_departments.add(joint)
    item_publish(item=current.item, actor=admin_user)

    draft = item_draft_from_current(item=current.item, actor=admin_user)

    assert draft.status == VersionStatus.DRAFT and draft.number is None and draft.pk != current.pk
    assert (draft.name, draft.themes, draft.result_name) == (current.name, ["food_safety"], "食品经营许可证")
    assert list(draft.joint_departments.all()) == [joint]
    copied = list(draft.materials.order_by("order").values_list("name", "blank_form", "satisfied_by__code", "deferrable", "notes"))
    assert copied == [("申请书", "items/forms/2026/form.pdf", None, False, "签字"), ("营业执照", "", "BIZ-LICENSE", True, "")]
    # Asking again gives the same draft, never a second one.
    assert item_draft_from_current(item=current.item, actor=admin_user) == draft
    assert current.item.versions.filter(status=VersionStatus.DRAFT).count() == 1
    # Editing the draft leaves the published version untouched.
    draft.materials.filter(name="申请书").update(name="申请书（新版）")
    assert list(current.materials.values_list("name", flat=True)) == ["申请书", "营业执照"]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"promised_days": 30}, "promised_days", "承诺时限（30）不能大于法定时限（20）"),
        ({"handling": "instant", "promised_days": 2}, "promised_days", "即办件的承诺时限必须为 0"),
        ({"audience": []}, "audience", ""),
    ],
)
def test_publish_validates_the_draft_and_refuses_without_a_trace(admin_user, changes, field, message):
    draft = ItemVersionFactory(**changes)
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as error:
        item_publish(item=draft.item, actor=admin_user)
    assert field in error.value.message_dict
    assert message in " ".join(error.value.message_dict[field])
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT and draft.item.current_version is None
    assert AuditEvent.objects.count() == events


def test_publish_without_a_draft_is_refused(admin_user):
    version = ItemVersionFactory(publish=True)
    with pytest.raises(ValidationError, match="没有待发布的草稿"):
        item_publish(item=version.item, actor=admin_user)


def test_only_catalogue_admins_publish():
    draft = ItemVersionFactory()
    with pytest.raises(PermissionDenied):
        item_publish(item=draft.item, actor=UserFactory(reviewer=True))
    with pytest.raises(PermissionDenied):
        item_draft_from_current(item=draft.item, actor=UserFactory(clerk=True))


def test_history_diff_names_changed_fields_and_materials(admin_user):
    first = ItemVersionFactory(publish=True, materials=[{"name": "申请书"}, {"name": "营业执照"}])
    draft = item_draft_from_current(item=first.item, actor=admin_user)
    draft.promised_days = 2
    draft.save()
    draft.materials.filter(name="营业执照").delete()
    draft.materials.filter(name="申请书").update(required=False)
    MaterialRequirement.objects.create(version=draft, name="章程", order=9)
    item_publish(item=first.item, actor=admin_user)

    newest, oldest = item_history(item=first.item)
    assert (newest.version.number, oldest.version.number) == (2, 1)
    assert [(change.label, change.old, change.new) for change in newest.diff.fields] == [("承诺办结时限（工作日）", "5", "2")]
    materials = {(change.name, change.kind) for change in newest.diff.materials}
    assert materials == {("申请书", "changed"), ("章程", "added"), ("营业执照", "removed")}
    changed = next(change for change in newest.diff.materials if change.kind == "changed")
    assert [(c.label, c.old, c.new) for c in changed.changes] == [("是否必要", "是", "否")]
    assert not oldest.diff


# ---------------------------------------------------------------------------------------------- admin


def test_catalogue_admin_publishes_from_the_admin(client, admin_user):
    first = ItemVersionFactory(publish=True)
    item = first.item
    client.force_login(admin_user)
    assert client.get("/admin/items/item/").status_code == 200

    response = client.post(f"/admin/items/item/{item.pk}/draft/")
    draft = item.versions.get(status=VersionStatus.DRAFT)
    assert response.status_code == 302 and response.url == f"/admin/items/itemversion/{draft.pk}/change/"
    assert client.get(response.url).status_code == 200

    ItemVersion.objects.filter(pk=draft.pk).update(promised_days=4)
    response = client.post(f"/admin/items/item/{item.pk}/publish/", {"change_note": "后台发布"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.current_version.number == 2 and item.current_version.promised_days == 4
    assert item.current_version.published_by == admin_user
    event = AuditEvent.objects.filter(action="item_publish").latest("seq")
    assert event.actor == admin_user and event.payload == {"version": 2}

    page = client.get(f"/admin/items/item/{item.pk}/change/").content.decode()
    assert "第 2 版" in page and "第 1 版" in page and "承诺办结时限" in page


def test_admin_action_publishes_selected_drafts_and_reports_failures(client, admin_user):
    good = ItemVersionFactory()
    bad = ItemVersionFactory(promised_days=40)
    client.force_login(admin_user)
    response = client.post(
        "/admin/items/item/",
        {"action": "publish_drafts", "_selected_action": [good.item.pk, bad.item.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert Item.objects.get(pk=good.item.pk).current_version_id == good.pk
    assert Item.objects.get(pk=bad.item.pk).current_version_id is None
    assert "承诺时限（40）不能大于法定时限（20）" in response.content.decode()


def test_admin_shows_a_published_version_read_only(client, admin_user):
    version = ItemVersionFactory(publish=True)
    client.force_login(admin_user)
    page = client.get(f"/admin/items/itemversion/{version.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode() and 'name="_publish"' not in page.content.decode()
    response = client.post(f"/admin/items/itemversion/{version.pk}/change/", {"name": "改名"})
    assert response.status_code == 403
    assert ItemVersion.objects.get(pk=version.pk).name == version.name


def test_admin_draft_form_saves_and_publishes_with_one_button(client, admin_user):
    draft = ItemVersionFactory(materials=[{"name": "申请书"}])
    client.force_login(admin_user)
    page = client.get(f"/admin/items/itemversion/{draft.pk}/change/")
    assert 'name="_publish"' in page.content.decode()
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name in form.fields}
    data.update(
        name="食品经营许可（新办）",
        audience=["2", "5"],
        procedure="受理\n审查\n决定",
        department=draft.department.pk,
        promised_days=3,
        joint_departments=[],
        themes=[],
        _publish="保存并发布",
    )
    for key in ("online", "express", "appointment", "onsite_inspection", "fee_charged"):
        data.pop(key, None)
    data.pop("joint_departments")
    material = draft.materials.get()
    prefix = "materials"
    data.update({
        f"{prefix}-TOTAL_FORMS": "1", f"{prefix}-INITIAL_FORMS": "1", f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000",
        f"{prefix}-0-id": material.pk, f"{prefix}-0-version": draft.pk, f"{prefix}-0-order": 1, f"{prefix}-0-name": "申请书",
        f"{prefix}-0-form": "original", f"{prefix}-0-copies_original": 1, f"{prefix}-0-copies_copy": 0,
        f"{prefix}-0-required": "on", f"{prefix}-0-source": "applicant",
    })
    response = client.post(f"/admin/items/itemversion/{draft.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    published = ItemVersion.objects.get(pk=draft.pk)
    assert published.status == VersionStatus.PUBLISHED and published.number == 1
    assert published.audience == ["2", "5"] and published.procedure == ["受理", "审查", "决定"]


def test_staff_without_the_catalogue_role_cannot_use_the_catalogue_admin(client):
    clerk = UserFactory(clerk=True, is_staff=True)
    draft = ItemVersionFactory()
    client.force_login(clerk)
    assert client.get("/admin/items/item/").status_code == 403
    assert client.post(f"/admin/items/item/{draft.item.pk}/publish/").status_code == 403
    assert Item.objects.get(pk=draft.item.pk).current_version is None


def test_admin_export_downloads_an_importable_catalogue(client, admin_user, tmp_path):
    from django.core.management import call_command

    ItemVersionFactory(publish=True, name="食品经营许可（新办）")
    client.force_login(admin_user)
    response = client.get("/admin/items/item/export/xlsx/")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    path = tmp_path / "export.xlsx"
    path.write_bytes(response.content)
    versions = ItemVersion.objects.count()
    call_command("import_catalogue", str(path), stdout=open("/dev/null", "w"))
    assert ItemVersion.objects.count() == versions
    assert client.get("/admin/items/item/export/json/").json()["items"][0]["name"] == "食品经营许可（新办）"


def test_admin_adds_an_item_and_lands_on_its_empty_draft(client, admin_user):
    department = DepartmentFactory(code="CCSJ")
    client.force_login(admin_user)
    response = client.post(
        "/admin/items/item/add/", {"code": "11220100MB0000001Y0100990000001", "basic_code": "0100990000", "department": department.pk}
    )
    item = Item.objects.get(code="11220100MB0000001Y0100990000001")
    draft = item.versions.get()
    assert response.status_code == 302 and response.url == f"/admin/items/itemversion/{draft.pk}/change/"
    assert draft.status == VersionStatus.DRAFT and draft.department == department and item.current_version is None
    assert AuditEvent.objects.filter(action="item_create", object_id=item.code, actor=admin_user).exists()
    assert client.get(f"/guide/{item.code}/").status_code == 404
    long_code = client.post("/admin/items/item/add/", {"code": "1" * 37, "department": department.pk})
    assert long_code.status_code == 200 and not Item.objects.filter(code="1" * 37).exists()
