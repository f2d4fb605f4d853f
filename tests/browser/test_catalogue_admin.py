"""The catalogue admin in Chromium (issue 18): a catalogue administrator opens an item, 编辑草稿, changes one
field, saves, types a 修订说明 and clicks 发布草稿; the history (admin and public) shows the new version with
only that field changed and the 修订说明. Then 导入目录: upload a file, read the preview, 确认导入. Every admin
page visited is Chinese (no English word in what the page shows) and passes axe. Screenshots go to
test-artifacts/catalogue-admin-NN-*.png."""

import copy
import json
import re

import pytest
from axe_playwright_python.sync_playwright import Axe

from items.models import Bundle, BundleMember, Item, ItemVersion, VersionStatus
from items.services import catalogue_import
from portal.models import AuditEvent
from tests.browser.accessibility import WCAG, assert_accessible
from tests.browser.conftest import ARTIFACTS, log_in
from tests.factories import UserFactory
from tests.items.conftest import VALID_CATALOGUE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FOOD = "11220100MB1234567K4000117001000"
NEW_ITEM = "11220100MB1234567K4000117002000"
# Key names in Django's Chinese help for a multiple select, the export's and import's file formats, and the
# signed-in account's user name (the admin's header shows it, upper-cased by its style).
ALLOWED_WORDS = {"control", "mac", "command", "excel", "json", "xlsx", "catalog"}


# Django's filter_horizontal widget (admin/js/SelectFilter2.js) labels its filter icons with aria-label on a
# plain <span>, which ARIA does not allow; it is built by Django's script, not by our templates or CSS.
SELECT_FILTER_SPANS = (
    "aria-prohibited-attr (serious): Elements must only use permitted ARIA attributes — "
    "[['span[aria-label=\"在此框中键入以过滤可用的联办部门列表\"]'], ['span[aria-label=\"在该框中键入以过滤所选联办部门的列表。\"]']]"
)


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"catalogue-admin-{name}.png"), full_page=True)


def axe_violations(page, chromium) -> list[str]:
    """assert_accessible's axe run, but returning the violations.

    axe's preload of the page's CSS follows Django's `@import url('widgets.css')` in admin/css/forms.css
    and adds a <style> element for it, which our Content-Security-Policy blocks (decision 040): those
    console reports come from the checker, not the page, and are taken off the list the CSP fixture reads
    (the page's own load is checked before axe runs)."""
    assert chromium.violations == [], chromium.violations
    violations = Axe().run(page, options=WCAG).response["violations"]
    assert all("Applying inline style" in message for message in chromium.violations), chromium.violations
    chromium.violations.clear()
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[node['target'] for node in v['nodes']]}" for v in violations]


def check_page(page, name, chromium, *, django_violations=()):
    """Chinese only, accessible (but for the named violations of Django's own admin markup, which our
    templates and CSS cannot change; see decision 057), and a screenshot to look at."""
    text = page.evaluate(
        "() => document.body.innerText + ' ' + [...document.querySelectorAll('[title],[aria-label],[placeholder],img[alt]')]"
        ".map(e => [e.title, e.getAttribute('aria-label'), e.placeholder, e.alt].filter(Boolean).join(' ')).join(' ')"
    )
    words = {word.lower() for word in re.findall(r"(?<![A-Za-z0-9])[A-Za-z]{3,}(?![A-Za-z0-9])", text)} - ALLOWED_WORDS
    assert words == set(), f"{page.url}: English on the page: {sorted(words)}"
    for width, height in ((1200, 900), (390, 844)):  # desk, then phone
        page.set_viewport_size({"width": width, "height": height})
        found = axe_violations(page, chromium)
        assert [v for v in found if v not in django_violations] == [], f"{page.url} at {width}px:\n" + "\n".join(found)
    shot(page, f"{name}-phone")
    page.set_viewport_size({"width": 1200, "height": 900})
    shot(page, name)


@pytest.fixture
def catalogue():
    data = copy.deepcopy(VALID_CATALOGUE)
    data["items"][0]["conditions"] = "1. 有经营场所；\n2. 有食品安全管理人员。"
    data["items"][0]["joint_departments"] = ["TSJ-NG"]
    data["items"][0]["materials"][0]["notes"] = "一式两份\n加盖公章"
    catalogue_import(data=data, actor=None)
    bundle = Bundle.objects.create(code="YJS0001", name="开办餐饮店", status=VersionStatus.DRAFT)
    for order, item in enumerate(Item.objects.order_by("code"), start=1):
        BundleMember.objects.create(bundle=bundle, item=item, order=order)
    UserFactory(username="catalog", catalogue_admin=True, real_name="赵敏")
    return data


def test_a_catalogue_admin_edits_publishes_and_reads_the_history(page, chromium, catalogue):
    item = Item.objects.get(code=FOOD)
    log_in(page, "catalog")

    page.goto("/admin/items/item/")
    check_page(page, "01-items", chromium)
    page.get_by_role("link", name=FOOD).click()
    page.wait_for_url(f"**/admin/items/item/{item.pk}/change/")
    assert page.get_by_role("button", name="发布草稿").count() == 0  # no draft yet: 编辑草稿 only
    check_page(page, "02-item", chromium)

    page.get_by_role("button", name="编辑草稿").click()
    page.wait_for_url("**/admin/items/itemversion/*/change/")
    # The 联办部门 widget's help comes from admin:jsi18n: Chinese, not 「Choose 联办部门 by selecting them…」.
    assert "选择联办部门：选中后点击“选择”箭头按钮。" in page.locator(".selector").inner_text()
    check_page(page, "03-draft", chromium, django_violations={SELECT_FILTER_SPANS})
    page.get_by_label("承诺办结时限（工作日）").fill("3")
    page.get_by_role("button", name="保存", exact=True).click()

    page.wait_for_url(f"**/admin/items/item/{item.pk}/change/")
    page.get_by_label("修订说明").fill("承诺时限压缩为 3 个工作日")
    page.get_by_role("button", name="发布草稿").click()
    page.wait_for_load_state()
    assert f"已发布 {FOOD} 第 2 版" in page.locator(".messagelist").inner_text()
    newest = page.locator(".version-entry").first
    assert "第 2 版" in newest.inner_text() and "承诺时限压缩为 3 个工作日" in newest.inner_text()
    assert newest.locator("tbody tr").all_inner_texts() == ["承诺办结时限（工作日）\t5\t3"]
    assert page.get_by_role("button", name="发布草稿").count() == 0
    check_page(page, "04-published", chromium)

    version = ItemVersion.objects.get(item=item, number=2)
    assert (version.change_note, version.promised_days, version.published_by.real_name) == (
        "承诺时限压缩为 3 个工作日", 3, "赵敏")
    assert version.conditions == "1. 有经营场所；\n2. 有食品安全管理人员。"

    page.goto(f"/guide/{FOOD}/history/")
    newest = page.locator("section.version").first
    assert "承诺时限压缩为 3 个工作日" in newest.inner_text()
    assert newest.locator("tbody tr").all_inner_texts() == ["承诺办结时限（工作日）\t5\t3"]
    assert_accessible(page)

    # 保存并发布 on the draft page: the 修订说明 typed in the draft form is the one the version keeps.
    page.goto(f"/admin/items/item/{item.pk}/change/")
    page.get_by_role("button", name="编辑草稿").click()
    page.wait_for_url("**/admin/items/itemversion/*/change/")
    page.get_by_label("事项名称").fill("食品经营许可（新办、延续）")
    page.get_by_label("修订说明").fill("事项名称加上延续")
    page.get_by_role("button", name="保存并发布").click()
    page.wait_for_url(f"**/admin/items/item/{item.pk}/change/")
    newest = page.locator(".version-entry").first
    assert "第 3 版" in newest.inner_text() and "事项名称加上延续" in newest.inner_text()
    assert newest.locator("tbody tr").all_inner_texts() == ["事项名称\t食品经营许可（新办）\t食品经营许可（新办、延续）"]
    assert ItemVersion.objects.get(item=item, number=3).change_note == "事项名称加上延续"

    page.goto(f"/admin/items/bundle/{Bundle.objects.get().pk}/change/")
    check_page(page, "05-bundle", chromium)


def test_a_catalogue_admin_imports_a_file_after_its_preview(page, chromium, catalogue, tmp_path):
    changed = copy.deepcopy(catalogue)
    changed["items"][0]["name"] = "食品经营许可（新办、延续）"
    changed["items"].append({**copy.deepcopy(changed["items"][1]), "code": NEW_ITEM, "name": "住房公积金提取（购房）"})
    path = tmp_path / "目录.json"
    path.write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
    versions, events = ItemVersion.objects.count(), AuditEvent.objects.count()
    log_in(page, "catalog")

    page.goto("/admin/items/item/")
    page.get_by_role("link", name="导入目录").click()
    page.wait_for_url("**/admin/items/item/import/")
    check_page(page, "06-import", chromium)
    page.get_by_label("目录文件").set_input_files(path)
    page.get_by_role("button", name="上传并预览").click()
    page.wait_for_load_state()

    preview = page.locator(".import-preview")
    assert "事项：新增 1，修改 1，无变化 1" in preview.inner_text()
    rows = preview.locator("tr.outcome-updated, tr.outcome-created").all_inner_texts()
    assert f"{FOOD}\t食品经营许可（新办、延续）\t修改\t事项名称" in rows
    assert f"{NEW_ITEM}\t住房公积金提取（购房）\t新增\t" in [row.rstrip() + "\t" if row.endswith("新增") else row
                                                          for row in rows]
    assert (ItemVersion.objects.count(), AuditEvent.objects.count()) == (versions, events)  # nothing stored yet
    check_page(page, "07-preview", chromium)

    page.get_by_role("button", name="确认导入").click()
    page.wait_for_url("**/admin/items/item/")
    assert "目录已导入" in page.locator(".messagelist").inner_text()
    assert Item.objects.get(code=FOOD).current_version.name == "食品经营许可（新办、延续）"
    assert Item.objects.get(code=NEW_ITEM).current_version.number == 1
    assert AuditEvent.objects.filter(action="catalogue_import", actor__username="catalog").count() == 1
    check_page(page, "08-imported", chromium)
