"""The item page and the draft page of the catalogue admin as a catalogue administrator uses them (issue 18):
发布草稿 / 删除草稿 only when a draft exists, the 修订说明 typed on either page is the version's change_note, and
the version history lists only what really changed — also after a browser sent every textarea back with
CR LF line breaks."""

import re

import pytest
from django import forms

from items.models import Item, ItemVersion, VersionStatus
from items.selectors import item_history
from items.services import catalogue_import
from portal.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FOOD = "11220100MB1234567K4000117001000"


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(catalogue_admin=True, real_name="赵敏"))
    return client


@pytest.fixture
def item(catalogue):
    """An imported item whose texts have line breaks, with two joint departments and a material's notes."""
    food = catalogue["items"][0]
    food["conditions"] = "1. 有经营场所；\n2. 有食品安全管理人员。"
    food["legal_basis"] = "《中华人民共和国食品安全法》第三十五条\n《食品经营许可和备案管理办法》"
    food["joint_departments"] = ["TSJ-NG", "TSJ"]
    food["materials"][0]["notes"] = "一式两份\n加盖公章"
    catalogue_import(data=catalogue, actor=None)
    return Item.objects.get(code=FOOD)


def browser_form_data(response) -> dict:
    """What a browser sends for the admin change form as rendered: every field's value, checkboxes only when
    ticked, and each textarea's line breaks as CR LF (as Chromium and Firefox send them)."""
    data = {}
    page_forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management[name].html_name: str(management[name].value()) for name in management.fields})
        page_forms.extend(inline.formset.forms)
    for form in page_forms:
        for name, field in form.fields.items():
            bound, value = form[name], form[name].value()
            if isinstance(field, forms.FileField):
                continue
            if isinstance(field.widget, forms.CheckboxInput):
                if value:
                    data[bound.html_name] = "on"
            elif isinstance(value, (list, tuple)):
                data[bound.html_name] = [str(entry) for entry in value]
            elif isinstance(field.widget, forms.Textarea):
                data[bound.html_name] = str(value or "").replace("\n", "\r\n")
            else:
                data[bound.html_name] = "" if value is None else str(value)
    return data


def open_draft(client, item) -> tuple[ItemVersion, dict]:
    response = client.post(f"/admin/items/item/{item.pk}/draft/")
    draft = ItemVersion.objects.get(item=item, status=VersionStatus.DRAFT)
    assert response.status_code == 302 and response.url == f"/admin/items/itemversion/{draft.pk}/change/"
    return draft, browser_form_data(client.get(response.url))


def diff_rows(page: str) -> list[str]:
    """The first version's 变更项 cells on an item page or the public history page."""
    table = re.search(r'<table class="diff">.*?</table>', page, re.S).group(0)
    return re.findall(r"<tr><td>(.*?)</td>", table)


def test_save_and_publish_on_the_draft_page_stores_the_typed_change_note_and_only_the_real_change(admin_client, item):
    draft, data = open_draft(admin_client, item)
    data.update(name="食品经营许可（新办、延续）", change_note="事项名称加上延续", _publish="保存并发布")

    response = admin_client.post(f"/admin/items/itemversion/{draft.pk}/change/", data)

    assert response.status_code == 302 and response.url == f"/admin/items/item/{item.pk}/change/"
    version = ItemVersion.objects.get(pk=draft.pk)
    assert (version.status, version.number, version.change_note) == (VersionStatus.PUBLISHED, 2, "事项名称加上延续")
    assert version.conditions == "1. 有经营场所；\n2. 有食品安全管理人员。"  # stored with LF, as imported
    newest = item_history(item=item)[0]
    assert [change.label for change in newest.diff.fields] == ["事项名称"] and newest.diff.materials == []

    admin_page = admin_client.get(f"/admin/items/item/{item.pk}/change/").content.decode()
    assert diff_rows(admin_page) == ["事项名称"] and "事项名称加上延续" in admin_page
    public_page = admin_client.get(f"/guide/{FOOD}/history/").content.decode()
    assert diff_rows(public_page) == ["事项名称"] and "事项名称加上延续" in public_page


def test_publishing_from_the_item_page_uses_the_change_note_typed_there(admin_client, item):
    draft, data = open_draft(admin_client, item)
    data.update(promised_days="3", _save="保存")
    saved = admin_client.post(f"/admin/items/itemversion/{draft.pk}/change/", data)
    # 保存 returns to the item, where the draft is published.
    assert saved.status_code == 302 and saved.url == f"/admin/items/item/{item.pk}/change/"
    page = admin_client.get(saved.url).content.decode()
    assert f'action="/admin/items/item/{item.pk}/publish/"' in page and 'value="发布草稿"' in page
    assert f'action="/admin/items/item/{item.pk}/discard/"' in page and 'name="change_note"' in page

    published = admin_client.post(f"/admin/items/item/{item.pk}/publish/", {"change_note": "承诺时限压缩为 3 个工作日"})

    assert published.status_code == 302
    version = ItemVersion.objects.get(pk=draft.pk)
    assert (version.number, version.change_note, version.promised_days) == (2, "承诺时限压缩为 3 个工作日", 3)
    assert AuditEvent.objects.filter(action="item_publish", object_id=FOOD, payload={"version": 2}).exists()
    page = admin_client.get(f"/admin/items/item/{item.pk}/change/").content.decode()
    assert diff_rows(page) == ["承诺办结时限（工作日）"] and "承诺时限压缩为 3 个工作日" in page
    assert diff_rows(admin_client.get(f"/guide/{FOOD}/history/").content.decode()) == ["承诺办结时限（工作日）"]


def test_the_item_page_offers_publish_and_discard_only_with_a_draft(admin_client, item):
    page = admin_client.get(f"/admin/items/item/{item.pk}/change/").content.decode()
    assert "编辑草稿" in page
    assert "/publish/" not in page and "/discard/" not in page and "删除草稿" not in page

    draft, _ = open_draft(admin_client, item)
    page = admin_client.get(f"/admin/items/item/{item.pk}/change/").content.decode()
    assert "编辑草稿" in page and 'value="发布草稿"' in page and 'value="删除草稿"' in page

    discarded = admin_client.post(f"/admin/items/item/{item.pk}/discard/")
    assert discarded.status_code == 302 and not ItemVersion.objects.filter(pk=draft.pk).exists()
    assert "/discard/" not in admin_client.get(f"/admin/items/item/{item.pk}/change/").content.decode()


def test_an_untouched_draft_saved_from_the_browser_is_the_same_as_the_current_version(admin_client, item):
    draft, data = open_draft(admin_client, item)
    data["_continue"] = "保存并继续编辑"

    response = admin_client.post(f"/admin/items/itemversion/{draft.pk}/change/", data)

    assert response.status_code == 302
    draft_entry = item_history(item=item, include_draft=True)[0]
    assert draft_entry.version.pk == draft.pk and not draft_entry.diff
    assert "内容与上一版相同" in admin_client.get(f"/admin/items/item/{item.pk}/change/").content.decode()
