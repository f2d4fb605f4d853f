"""The catalogue admin speaks Chinese only (issue 18, decision 057): whatever language the browser asks for,
every page a catalogue admin uses and the admin's JavaScript catalogue (admin:jsi18n, which the 联办部门
filter_horizontal widget reads) are Chinese, including the strings Django's own zh_Hans catalogue lacks."""

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import django
import pytest

from items.models import Bundle, BundleMember, Item, ItemVersion, VersionStatus
from items.services import catalogue_import, item_draft_from_current
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ADMIN_JS = Path(django.__file__).parent / "contrib" / "admin" / "static" / "admin" / "js"
BROWSERS = ["en-US,en;q=0.9", "zh-CN,zh;q=0.9,en;q=0.8", "fr-FR,fr;q=0.9", None]
# Words a Chinese page may carry: the export's formats, the file types the import takes, and the key names in
# Django's Chinese help for a multiple select (「按住 Control 键，或者 Mac 上的 Command 键来选择多项。」).
ALLOWED_WORDS = {"Excel", "JSON", "json", "xlsx", "Control", "Mac", "Command"}


def admin_js_msgids() -> set[str]:
    """Every gettext / ngettext string of the admin's own scripts (the filter widget, calendar, actions …)."""
    found = set()
    for path in ADMIN_JS.rglob("*.js"):
        if "vendor" in path.parts:
            continue
        for match in re.finditer(r"\b(?:gettext|ngettext)\(\s*(['\"])((?:\\.|(?!\1).)*)\1", path.read_text()):
            found.add(match.group(2).replace("\\'", "'").replace('\\"', '"'))
    return found


def js_catalog(response) -> dict:
    return json.loads(re.search(r"const newcatalog = (\{.*?\});", response.content.decode(), re.S).group(1))


class VisibleText(HTMLParser):
    """Text a person sees or hears: text nodes outside scripts, styles and icons, and the labels in attributes."""

    SKIP = {"script", "style", "svg"}
    ATTRIBUTES = {"title", "aria-label", "placeholder", "alt"}

    def __init__(self):
        super().__init__()
        self.parts, self.skipping = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        attrs = dict(attrs)
        self.parts += [value for name, value in attrs.items() if name in self.ATTRIBUTES and value]
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.parts.append(attrs["value"])

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def english_words(html: str) -> set[str]:
    parser = VisibleText()
    parser.feed(html)
    words = set(re.findall(r"(?<![A-Za-z0-9])[A-Za-z]{3,}(?![A-Za-z0-9])", " ".join(parser.parts)))
    return words - ALLOWED_WORDS


@pytest.mark.parametrize("accept_language", BROWSERS)
def test_the_admin_javascript_catalogue_is_chinese_for_every_browser(client, accept_language):
    client.force_login(UserFactory(catalogue_admin=True))
    headers = {"HTTP_ACCEPT_LANGUAGE": accept_language} if accept_language else {}

    response = client.get("/admin/jsi18n/", **headers)

    assert response.status_code == 200 and response["Content-Language"] == "zh-hans"
    catalog = js_catalog(response)
    untranslated = sorted(msgid for msgid in admin_js_msgids() if msgid not in catalog)
    assert untranslated == []
    assert catalog['Choose %s by selecting them and then select the "Choose" arrow button.'] == "选择%s：选中后点击“选择”箭头按钮。"
    assert catalog["Choose all %s"] == "全选%s"


@pytest.fixture
def pages(catalogue):
    """The pages a catalogue admin uses: item list, item page, draft page, bundle page, import page."""
    catalogue["items"][0]["joint_departments"] = ["TSJ-NG"]
    catalogue_import(data=catalogue, actor=None)
    item = Item.objects.get(code=catalogue["items"][0]["code"])
    admin = UserFactory(catalogue_admin=True, real_name="赵敏")
    bundle = Bundle.objects.create(code="YJS0001", name="开办餐饮店", status=VersionStatus.DRAFT)
    for order, member in enumerate(Item.objects.order_by("code"), start=1):
        BundleMember.objects.create(bundle=bundle, item=member, order=order)
    draft = item_draft_from_current(item=item, actor=admin)
    return admin, [
        "/admin/items/item/",
        f"/admin/items/item/{item.pk}/change/",
        f"/admin/items/itemversion/{draft.pk}/change/",
        "/admin/items/bundle/",
        f"/admin/items/bundle/{bundle.pk}/change/",
        "/admin/items/item/import/",
    ]


@pytest.mark.parametrize("accept_language", ["en-US,en;q=0.9", None])
def test_every_catalogue_admin_page_is_chinese_whatever_the_browser_asks(client, pages, accept_language):
    admin, urls = pages
    client.force_login(admin)
    headers = {"HTTP_ACCEPT_LANGUAGE": accept_language} if accept_language else {}
    for url in urls:
        response = client.get(url, **headers)
        html = response.content.decode()
        assert response.status_code == 200, url
        assert '<html lang="zh-hans"' in html, url
        assert english_words(html) == set(), url
    assert ItemVersion.objects.filter(status=VersionStatus.DRAFT).count() == 1
