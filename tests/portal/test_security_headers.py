"""Content-Security-Policy on every answer and `Cache-Control: no-store` on personal ones (decision 040).

Downloads (attachment, nosniff, sandbox) are tested where each file is served: tests/applications
(materials, documents), tests/certificates (certificate PDFs), tests/items (blank forms).
"""

import re
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from items.services import item_draft_from_current
from portal.security import PAGE_POLICY
from tests.factories import UserFactory, published_item

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# Rendered to PDF by WeasyPrint, never served to a browser: their <style> blocks are not under the CSP.
PDF_TEMPLATES = ("applications/documents/", "certificates/certificate.html")
INLINE_CODE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=|javascript:", re.IGNORECASE)


def test_no_template_carries_inline_script_or_style():
    """The policy runs scripts and styles from files only: inline code in a page would silently not run."""
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        name = path.relative_to(TEMPLATES).as_posix()
        if name.startswith(PDF_TEMPLATES):
            continue
        offenders += [f"{name}: {match.group(0)}" for match in INLINE_CODE.finditer(path.read_text())]
    assert offenders == []


@pytest.mark.parametrize("path", ["/", "/guide/", "/accounts/login/", "/verify/", "/api/v1/items/"])
def test_every_answer_carries_the_strict_policy(client, path):
    published_item()
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == PAGE_POLICY
    # Nor do the pages as rendered (form widgets write attributes from Python, which the scan cannot see).
    assert not INLINE_CODE.search(response.content.decode())
    assert "'unsafe-inline'" not in PAGE_POLICY and "'unsafe-eval'" not in PAGE_POLICY
    assert "frame-ancestors 'none'" in PAGE_POLICY and "object-src 'none'" in PAGE_POLICY


def test_the_api_docs_keep_the_strict_policy(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200 and page["Content-Security-Policy"] == PAGE_POLICY
    body = page.content.decode()
    assert not INLINE_CODE.search(body)
    # Its start-up script is a file of its own, from the same origin.
    script = re.search(r'<script src="(/api/docs/\?[^"]*script[^"]*)"', body).group(1).replace("&amp;", "&")
    response = client.get(script)
    assert response.status_code == 200 and response["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in response.content.decode()


def test_the_item_admin_page_keeps_working_under_the_policy(client):
    item = published_item()
    admin = UserFactory(is_staff=True, is_superuser=True)
    item_draft_from_current(item=item, actor=admin)  # 删除草稿 (which asks first) is offered while a draft exists
    client.force_login(admin)
    response = client.get(f"/admin/items/item/{item.pk}/change/")
    assert response.status_code == 200 and response["Content-Security-Policy"] == PAGE_POLICY
    body = response.content.decode()
    assert not INLINE_CODE.search(body)
    assert 'data-confirm="确定删除未发布的草稿吗？"' in body and "/static/js/forms.js" in body


# --- no-store ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/my/cases/", "/my/certificates/", "/inbox/", "/guide/"])
def test_every_page_for_a_logged_in_user_is_no_store(client, citizen, path):
    client.force_login(citizen)
    response = client.get(path)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


def test_staff_pages_are_no_store(client):
    client.force_login(UserFactory(reviewer=True))
    response = client.get("/review/")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/api/v1/applications/", "/api/v1/certificates/", "/api/v1/notifications/",
                                  "/api/v1/items/"])
def test_the_api_with_a_token_is_no_store(api, citizen, path):
    token = Token.objects.create(user=citizen)
    response = api.get(path, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


def test_api_errors_and_public_look_ups_are_no_store(api):
    assert api.get("/api/v1/applications/")["Cache-Control"] == "no-store"  # 401/403, but never kept
    assert api.get("/api/v1/verify/1.2.156.3005.2.NOPE.11220100MB1234567K.00000001.001.Q/")["Cache-Control"] == "no-store"


def test_the_public_verification_page_is_no_store(client):
    """A holder's name and a certificate's status: a revocation must show at once, not from a cache."""
    response = client.get("/verify/1.2.156.3005.2.NOPE.11220100MB1234567K.00000001.001.Q/")
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/api/v1/items/", "/api/v1/departments/",
                                  "/api/v1/workdays/?start=2026-09-30&days=3", "/guide/", "/"])
def test_public_reads_stay_cacheable_for_anonymous_visitors(api, path):
    published_item()
    response = api.get(path)
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


def test_a_view_that_decides_its_own_caching_is_left_alone(client):
    # The login page is never_cache'd by Django: its own header stays.
    response = client.get("/accounts/login/")
    assert "no-store" in response["Cache-Control"] and "must-revalidate" in response["Cache-Control"]
