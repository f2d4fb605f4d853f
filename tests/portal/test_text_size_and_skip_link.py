"""Accessibility the server decides (GB/T 37668 / WCAG 2.1): a skip link to the main content on every page,
and 大字版 (适老化) kept in a cookie, switched by a form, never redirecting off the site."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_every_page_starts_with_a_skip_link_to_its_main_content(client):
    html = client.get("/").content.decode()
    assert html.index('class="skip-link" href="#main"') < html.index("<header")
    assert '<main class="wrap" id="main" tabindex="-1">' in html


def test_large_text_is_switched_on_and_off_and_kept(client):
    response = client.post("/text-size/", {"size": "large", "next": "/guide/?q=结婚"})
    assert response.status_code == 302 and response["Location"] == "/guide/?q=%E7%BB%93%E5%A9%9A"
    assert response.cookies["text_size"].value == "large" and response.cookies["text_size"]["httponly"]
    html = client.get("/").content.decode()
    assert '<html lang="zh-CN" class="large-text">' in html and 'aria-pressed="true"' in html
    client.post("/text-size/", {"size": "standard", "next": "/"})
    html = client.get("/").content.decode()
    assert 'class="large-text"' not in html and 'aria-pressed="false"' in html


def test_large_text_never_sends_the_reader_off_the_site():
    client = Client()
    response = client.post("/text-size/", {"size": "large", "next": "https://evil.example/phish"})
    assert response["Location"] == "/"
    assert client.get("/text-size/").status_code == 405


def test_the_switch_needs_the_csrf_token():
    client = Client(enforce_csrf_checks=True)
    assert client.post("/text-size/", {"size": "large", "next": "/"}).status_code == 403
