"""Pages the journeys do not visit, in Chromium under the strict Content-Security-Policy (decision 040):
the catalogue's admin form (its confirmation is a script file now) and the Swagger UI. The conftest fails
any test whose pages the policy had to block something on."""

import pytest
from playwright.sync_api import expect

from items.models import Item
from tests.factories import TEST_PASSWORD, UserFactory, published_item

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_item_admin_asks_before_discarding_a_draft(page):
    item = published_item()
    UserFactory(username="admin", catalogue_admin=True, is_superuser=True)
    page.goto("/admin/login/")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/admin/")
    page.goto(f"/admin/items/item/{item.pk}/change/")
    with page.expect_navigation():
        page.get_by_role("button", name="编辑草稿").click()
    assert Item.objects.get(pk=item.pk).versions.filter(status="draft").exists()
    page.goto(f"/admin/items/item/{item.pk}/change/")
    discard = page.get_by_role("button", name="删除草稿")
    expect(discard).to_be_visible()

    # Declined: the form is not sent, the draft stays.
    page.once("dialog", lambda dialog: dialog.dismiss())
    discard.click()
    page.wait_for_timeout(300)
    assert Item.objects.get(pk=item.pk).versions.filter(status="draft").exists()

    # Confirmed: the script lets the form go.
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        discard.click()
    assert not Item.objects.get(pk=item.pk).versions.filter(status="draft").exists()


def test_the_api_docs_render(page):
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("一网通办")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
