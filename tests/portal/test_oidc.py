"""统一身份认证 (DESIGN §13, decision 048), end to end against a real OIDC provider: django-oidc-provider in
its own small project (tests/oidc_provider/) under gunicorn on a free port, with its own SQLite database. A
`requests` session plays the browser: our login page's button → /oidc/authenticate/ → the provider's login
form → its consent page → our callback (code for tokens, ID token checked against the provider's JWKS,
userinfo) → signed in, or back on our login page with the reason. Assertions on the pages and on the rows.
"""

import importlib
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.urls import clear_url_caches, reverse

import portal.urls
from portal.models import AuditEvent, Role, User
from portal.oidc import ID_NUMBER_MESSAGE, NAME_MISMATCH_MESSAGE, STAFF_MESSAGE
from portal.services import user_for_identity
from tests.factories import TEST_PASSWORD, ApplicationFactory, UserFactory, resident_id
from tests.server.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "yiwangtongban"
CLIENT_SECRET = "test-client-secret-0123456789"
BUTTON = "统一身份认证登录"

# One provider per xdist worker: the module's tests run together on one.
pytestmark = pytest.mark.xdist_group("oidc")


@dataclass
class Provider:
    url: str
    environment: dict
    log_path: Path

    def manage(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "django", *args], cwd=ROOT, env=self.environment,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def person(self, *, username: str, name: str, id_number: str, phone: str = "") -> str:
        """A user of the provider with verified claims; returns their subject (`sub`: the provider's user id)."""
        out = self.manage("provider_person", "--username", username, "--password", TEST_PASSWORD, "--name", name,
                          "--id-number", id_number, "--phone", phone)
        return out.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def provider(live_server, tmp_path_factory):
    """The provider, with our live server's callback registered as the client's redirect URI."""
    directory = tmp_path_factory.mktemp("oidc-provider")
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.oidc_provider.settings",
                   "OIDC_PROVIDER_DIR": str(directory), "PYTHONPATH": str(ROOT)}
    port = free_port()
    found = Provider(url=f"http://127.0.0.1:{port}", environment=environment, log_path=directory / "gunicorn.log")
    found.manage("migrate", "--run-syncdb", "--verbosity", "0")
    found.manage("provider_client", "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET,
                 "--redirect-uri", f"{live_server.url}/oidc/callback/")
    with open(found.log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "tests.oidc_provider.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "--threads", "4"],
            cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{found.url}/.well-known/openid-configuration", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the OIDC provider did not start; see {found.log_path}")
            time.sleep(0.2)
        yield found
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _reload_urls():
    importlib.reload(portal.urls)
    clear_url_caches()


@pytest.fixture
def oidc_on(settings, provider):
    """Our portal configured as a deployment would be, from the provider's discovery document."""
    discovery = requests.get(f"{provider.url}/.well-known/openid-configuration", timeout=10).json()
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = discovery["authorization_endpoint"]
    settings.OIDC_OP_TOKEN_ENDPOINT = discovery["token_endpoint"]
    settings.OIDC_OP_USER_ENDPOINT = discovery["userinfo_endpoint"]
    settings.OIDC_OP_JWKS_ENDPOINT = discovery["jwks_uri"]
    settings.OIDC_RP_SCOPES = "openid profile phone id_card"
    settings.OIDC_PHONE_CLAIM = "phone_number"
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, "portal.oidc.OidcBackend"]
    _reload_urls()
    yield provider
    settings.OIDC_RP_CLIENT_ID = ""
    _reload_urls()


class _Form(HTMLParser):
    """The first form of a page: its action and the values it would submit (submit buttons left out)."""

    def __init__(self, html: str):
        super().__init__()
        self.action, self.fields, self._done = None, {}, False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = attrs.get("action") or ""
        elif tag == "input" and self.action is not None and not self._done and attrs.get("name"):
            if attrs.get("type") != "submit":
                self.fields[attrs["name"]] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._done = True


def sign_in(base: str, provider: Provider, *, username: str) -> tuple[requests.Session, requests.Response]:
    """From our login page's button through the provider's login and consent; the page we end on."""
    browser = requests.Session()
    login_page = browser.get(f"{base}/accounts/login/", timeout=30)
    link = re.search(rf'href="([^"]+)">{BUTTON}</a>', login_page.text)
    assert link, "the login page has no 统一身份认证登录 button"
    page = browser.get(urljoin(login_page.url, link.group(1)), timeout=30)
    assert page.url.startswith(f"{provider.url}/login/"), page.url  # the provider asks who it is
    form = _Form(page.text)
    page = browser.post(urljoin(page.url, form.action), timeout=30,
                        data={**form.fields, "username": username, "password": TEST_PASSWORD})
    assert page.url.startswith(f"{provider.url}/authorize"), page.url  # and whether to tell us
    form = _Form(page.text)
    page = browser.post(urljoin(page.url, form.action), data={**form.fields, "allow": "Authorize"}, timeout=30)
    return browser, page


def signed_in_user_id(browser: requests.Session) -> str | None:
    """Who our portal's session cookie signs in (its session row), or None."""
    key = browser.cookies.get("sessionid")
    return SessionStore(session_key=key).get("_auth_user_id") if key else None


def assert_refused(base: str, browser: requests.Session, page: requests.Response, message: str):
    assert page.status_code == 200
    assert page.url == f"{base}/accounts/login/"
    assert message in page.text
    assert signed_in_user_id(browser) is None
    assert browser.get(f"{base}{reverse('applications:mine')}", timeout=30).url.startswith(f"{base}/accounts/login/")


def test_a_new_person_gets_an_applicant_account_with_the_verified_name_and_id(oidc_on, live_server):
    id_number = resident_id(1, region="110101")
    subject = oidc_on.person(username="wangfang", name="王芳", id_number=id_number, phone="13900139001")

    browser, page = sign_in(live_server.url, oidc_on, username="wangfang")

    assert page.status_code == 200 and page.url == f"{live_server.url}/"
    user = User.objects.get(id_number=id_number)
    assert (user.username, user.role, user.real_name, user.id_type, user.phone) == (
        f"oidc-{subject}", Role.APPLICANT, "王芳", "111", "13900139001")
    assert not user.has_usable_password()
    assert signed_in_user_id(browser) == str(user.pk)
    mine = browser.get(f"{live_server.url}{reverse('applications:mine')}", timeout=30)
    assert mine.status_code == 200 and mine.url == f"{live_server.url}{reverse('applications:mine')}"
    assert AuditEvent.objects.filter(action="user_register_oidc", object_id=str(user.pk)).count() == 1

    # The second time the same account signs in: nothing new is made.
    browser, page = sign_in(live_server.url, oidc_on, username="wangfang")
    assert signed_in_user_id(browser) == str(user.pk)
    assert User.objects.filter(real_name="王芳").count() == 1
    assert AuditEvent.objects.filter(action="user_register_oidc").count() == 1


def test_a_walk_in_identity_is_claimed_with_its_case(oidc_on, live_server):
    id_number = resident_id(2, region="110101")
    walk_in = user_for_identity(name="李娜", id_type="111", id_number=id_number)
    case = ApplicationFactory(applicant=walk_in, submitted=True)
    subject = oidc_on.person(username="lina", name="李娜", id_number=id_number, phone="13900139002")

    browser, page = sign_in(live_server.url, oidc_on, username="lina")

    assert page.url == f"{live_server.url}/"
    assert signed_in_user_id(browser) == str(walk_in.pk)
    claimed = User.objects.get(id_number=id_number)
    assert claimed.pk == walk_in.pk
    assert (claimed.username, claimed.phone, claimed.real_name) == (f"oidc-{subject}", "13900139002", "李娜")
    assert User.objects.filter(id_number=id_number).count() == 1
    event = AuditEvent.objects.get(action="user_claim_oidc", object_id=str(walk_in.pk))
    assert event.payload["walk_in_username"] == walk_in.username
    mine = browser.get(f"{live_server.url}{reverse('applications:mine')}", timeout=30)
    assert mine.status_code == 200 and case.number in mine.text


def test_a_walk_in_identity_under_another_name_is_refused(oidc_on, live_server):
    id_number = resident_id(3, region="110101")
    walk_in = user_for_identity(name="刘洋", id_type="111", id_number=id_number)
    users_before = User.objects.count()
    oidc_on.person(username="liuyang", name="刘阳", id_number=id_number, phone="13900139003")

    browser, page = sign_in(live_server.url, oidc_on, username="liuyang")

    assert_refused(live_server.url, browser, page, NAME_MISMATCH_MESSAGE)
    assert User.objects.count() == users_before
    walk_in_now = User.objects.get(pk=walk_in.pk)
    assert (walk_in_now.username, walk_in_now.phone, walk_in_now.real_name) == (walk_in.username, "", "刘洋")
    assert not AuditEvent.objects.filter(action__in=["user_claim_oidc", "user_register_oidc"]).exists()


def test_an_invalid_id_number_claim_is_refused(oidc_on, live_server):
    valid = resident_id(4, region="110101")
    wrong_check_digit = valid[:-1] + ("0" if valid[-1] != "0" else "1")
    users_before = User.objects.count()
    subject = oidc_on.person(username="zhaolei", name="赵磊", id_number=wrong_check_digit)

    browser, page = sign_in(live_server.url, oidc_on, username="zhaolei")

    assert_refused(live_server.url, browser, page, ID_NUMBER_MESSAGE)
    assert User.objects.count() == users_before
    assert not User.objects.filter(username=f"oidc-{subject}").exists()


def test_a_staff_account_with_that_id_is_not_signed_in(oidc_on, live_server):
    id_number = resident_id(5, region="110101")
    clerk = UserFactory(clerk=True, real_name="陈静", id_type="111", id_number=id_number)
    users_before = User.objects.count()
    oidc_on.person(username="chenjing", name="陈静", id_number=id_number, phone="13900139005")

    browser, page = sign_in(live_server.url, oidc_on, username="chenjing")

    assert_refused(live_server.url, browser, page, STAFF_MESSAGE)
    assert User.objects.count() == users_before
    clerk_now = User.objects.get(pk=clerk.pk)
    assert (clerk_now.role, clerk_now.username, clerk_now.phone) == (Role.CLERK, clerk.username, "")
    assert clerk_now.check_password(TEST_PASSWORD)


def test_a_registered_applicant_signs_in_to_their_own_account(oidc_on, live_server):
    applicant = UserFactory(identified=True, real_name="孙丽", phone="13900139006")
    oidc_on.person(username="sunli", name="孙丽", id_number=applicant.id_number, phone="13900139006")

    browser, page = sign_in(live_server.url, oidc_on, username="sunli")

    assert page.url == f"{live_server.url}/"
    assert signed_in_user_id(browser) == str(applicant.pk)
    same = User.objects.get(pk=applicant.pk)
    assert same.username == applicant.username and same.check_password(TEST_PASSWORD)
    assert User.objects.filter(id_number=applicant.id_number).count() == 1


def test_off_there_is_no_oidc_url_and_no_button(db):
    client = Client()
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404
    login_page = client.get(reverse("login"))
    assert login_page.status_code == 200
    assert BUTTON not in login_page.content.decode() and "/oidc/" not in login_page.content.decode()


def test_refused_sign_ins_count_for_the_lock_out(oidc_on, live_server, settings):
    """The OIDC callback goes through authenticate() behind axes' backend: refusals are failed logins
    (counted by client address, there being no username before the provider answers), and once locked out
    even a good identity is turned away with the lock-out page, its account not made."""
    settings.AXES_FAILURE_LIMIT = 2
    staff_id = resident_id(7, region="110101")
    UserFactory(clerk=True, real_name="周强", id_type="111", id_number=staff_id)
    oidc_on.person(username="zhouqiang", name="周强", id_number=staff_id)
    newcomer_id = resident_id(8, region="110101")
    oidc_on.person(username="wujing", name="吴静", id_number=newcomer_id)
    browser, page = sign_in(live_server.url, oidc_on, username="zhouqiang")
    assert_refused(live_server.url, browser, page, STAFF_MESSAGE)
    browser, page = sign_in(live_server.url, oidc_on, username="zhouqiang")
    assert page.status_code == 429  # the second failure locks

    browser, page = sign_in(live_server.url, oidc_on, username="wujing")

    assert page.status_code == 429 and "账户已临时锁定" in page.text
    assert signed_in_user_id(browser) is None
    assert not User.objects.filter(id_number=newcomer_id).exists()
