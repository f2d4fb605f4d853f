"""Playwright driving Debian's Chromium (never a downloaded browser). Screenshots go to test-artifacts/.

Every context the browser opens listens to the console: a Content-Security-Policy violation (an inline
script or style the policy blocked, decision 040) fails the test that caused it. And it accepts the
confirmation dialogs of irreversible forms (提交, 受理 …, decision 058); a test that declines one answers it
on the page.
"""

import os
from pathlib import Path

import pytest

# 开办餐饮店, the 一件事 of the bundle journeys (the same as the applications tests').
from tests.applications.bundle_fixtures import bundle, food, food_dept, tax, tax_dept  # noqa: F401

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls there unless told.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def accept_confirmations(dialog) -> None:
    """Playwright dismisses a dialog nobody answers, which would cancel every form that asks first
    (`data-confirm`, static/js/forms.js): a person who clicks 提交 or 受理 means it, so the browser says yes —
    unless the test answers on the page itself (`page.once("dialog", lambda d: d.dismiss())`)."""
    page = dialog.page
    if page is None or not page._impl_obj.listeners("dialog"):  # the page's own listener answers instead
        dialog.accept()


class WatchedBrowser:
    """The browser, whose every new context reports CSP violations from its console to `violations` and
    accepts confirmation dialogs (`accept_confirmations`)."""

    def __init__(self, browser):
        self._browser = browser
        self.violations: list[str] = []

    def new_context(self, **kwargs):
        context = self._browser.new_context(**kwargs)
        context.on("console", self._console)
        context.on("dialog", accept_confirmations)
        return context

    def _console(self, message):
        if "Content Security Policy" in message.text:
            self.violations.append(f"{message.location.get('url', '')}: {message.text}")

    def __getattr__(self, name):
        return getattr(self._browser, name)


# Per module, not per session: Playwright's sync API keeps an event loop running in this thread while the
# browser is open, and a later non-browser test on the same worker that calls asyncio.run() (pyHanko
# signing an issuance) would fail with "cannot be called from a running event loop".
@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium (bin/system-deps --test)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield WatchedBrowser(browser)
        browser.close()


@pytest.fixture(autouse=True)
def no_csp_violations(request):
    """Fails a browser test whose pages broke the Content-Security-Policy (checked after its contexts close)."""
    if "chromium" not in request.fixturenames:
        yield
        return
    browser = request.getfixturevalue("chromium")
    seen = len(browser.violations)
    yield
    assert browser.violations[seen:] == []


@pytest.fixture
def page(chromium, live_server, request):
    context = chromium.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def log_in(page, username: str, password: str | None = None) -> None:
    """Sign in through /accounts/login/ as a person does, landing on the home page."""
    from tests.factories import TEST_PASSWORD

    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password or TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/")


def off_the_loop(function, *args, **kwargs):
    """Run `function` in a thread of its own, as a Celery worker or a separate checker would: this thread has
    Playwright's event loop running, and pyHanko (signing, validating) starts its own with asyncio.run()."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    def work():
        try:
            return function(*args, **kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()
