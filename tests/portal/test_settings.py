"""Production settings fail fast without secrets and pass `check --deploy`; the PDF stack is complete."""

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parents[2]
# What the test process itself carries (settings, browser-test flags) must not leak into "production".
ENV_SET_BY_TESTS = {
    "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "SEAL_MASTER_KEY", "AUDIT_ANCHOR_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE",
}


def manage(*args, **env):
    base = {key: value for key, value in os.environ.items() if key not in ENV_SET_BY_TESTS}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "portal.settings.production", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION_ENV = {
    "SECRET_KEY": "k" * 20 + "-Zq8#vN2@pL5!rT7^wX1&yB4*eH6(jM9)sD3",
    "SEAL_MASTER_KEY": Fernet.generate_key().decode(),
    "AUDIT_ANCHOR_KEY": base64.urlsafe_b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode(),
    "ALLOWED_HOSTS": "zwfw.example.cn",
}


def test_production_passes_check_deploy():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "SEAL_MASTER_KEY", "AUDIT_ANCHOR_KEY"])
def test_production_refuses_to_start_without_a_secret(missing):
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != missing}
    result = manage("check", **env)
    assert result.returncode != 0
    assert f"{missing} must be set" in result.stderr


def test_production_refuses_a_malformed_master_key():
    result = manage("check", **{**PRODUCTION_ENV, "SEAL_MASTER_KEY": "not-a-fernet-key"})
    assert result.returncode != 0
    assert "SEAL_MASTER_KEY must be a Fernet key" in result.stderr


def test_production_refuses_a_malformed_audit_anchor_key():
    result = manage("check", **{**PRODUCTION_ENV, "AUDIT_ANCHOR_KEY": base64.urlsafe_b64encode(b"too short").decode()})
    assert result.returncode != 0
    assert "AUDIT_ANCHOR_KEY must be an Ed25519 private key" in result.stderr


def test_weasyprint_has_the_harfbuzz_subsetter():
    # Without libharfbuzz-subset0 a Chinese page takes ~14 s instead of ~0.3 s (DESIGN §2).
    from weasyprint.text import ffi

    assert ffi.harfbuzz_subset is not None


def test_cjk_font_is_installed():
    result = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=True)
    assert "Noto Sans CJK" in result.stdout or "Noto Serif CJK" in result.stdout


def test_production_with_a_read_replica_turns_replica_reads_on():
    """DATABASE_REPLICA_URL configures the alias with a short connect timeout and turns the reads on; outside a
    request (a shell, a Celery task) reads stay on the primary. Which reads go there: tests/replica/."""
    script = (
        "from django.conf import settings; from items.models import Item; from django.db import connections, router;"
        "replica = settings.DATABASES.get('replica', {});"
        "print(settings.REPLICA_READS, replica.get('NAME'), replica.get('OPTIONS', {}).get('connect_timeout'),"
        " router.db_for_read(Item), router.db_for_write(Item),"
        # The pool Django builds for it (without connecting): its options must be ones Django does not pass itself.
        " connections['replica'].pool.max_size if replica else None)"
    )
    replica = "postgres://postgres@127.0.0.1:5432/replica"
    result = manage("shell", "-v", "0", "-c", script, **PRODUCTION_ENV, DATABASE_REPLICA_URL=replica)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "replica", "2", "default", "default", "20"]
    without = manage("shell", "-v", "0", "-c", script, **PRODUCTION_ENV)
    assert without.stdout.split() == ["False", "None", "None", "default", "default", "None"]


def test_production_logs_one_json_line_per_request():
    """What a log collector reads: one JSON object per line, with the request id the proxy sent."""
    script = (
        "from django.test import Client; "
        "Client().get('/no-such-page/', HTTP_HOST='zwfw.example.cn', HTTP_X_FORWARDED_PROTO='https', "
        "HTTP_X_REQUEST_ID='nginx-5e1d')"
    )
    result = manage("shell", "-c", script, **PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    [request] = [line for line in lines if line["logger"] == "portal.request"]
    assert request["request_id"] == "nginx-5e1d" and request["status"] == 404 and request["path"] == "/no-such-page/"
    assert request["view"] == "<unresolved>" and request["user_id"] is None and request["level"] == "INFO"
    assert request["time"].endswith("+00:00")
    # Every other line is JSON too: Django's 404 warning, carrying the same id, and Python's own warnings
    # (on a fresh checkout WhiteNoise warns that collectstatic has not run yet).
    assert all(line.startswith("{") for line in result.stderr.splitlines() if line.strip()), result.stderr
    [not_found] = [line for line in lines if line["logger"] == "django.request"]
    assert not_found["request_id"] == "nginx-5e1d" and not_found["level"] == "WARNING"


SETTINGS_SCRIPT = "from django.conf import settings; print(settings.SMS_BACKEND, settings.PUBLIC_BASE_URL)"


def test_production_sends_sms_through_the_gateway_when_one_is_configured():
    plain = manage("shell", "-v", "0", "-c", SETTINGS_SCRIPT, **PRODUCTION_ENV)
    assert plain.returncode == 0, plain.stderr
    # No gateway configured: the file backend as in development; QR codes name the first allowed host.
    assert plain.stdout.split() == ["portal.sms.FileSmsBackend", "https://zwfw.example.cn"]
    gateway = {"SMS_GATEWAY_URL": "https://sms.example.cn/send", "SMS_GATEWAY_TOKEN": "secret",
               "PUBLIC_BASE_URL": "https://zwfw.jl.example.cn"}
    result = manage("shell", "-v", "0", "-c", SETTINGS_SCRIPT, **PRODUCTION_ENV, **gateway)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["portal.sms.HttpSmsBackend", "https://zwfw.jl.example.cn"]
    without_token = manage("check", **PRODUCTION_ENV, SMS_GATEWAY_URL="https://sms.example.cn/send")
    assert without_token.returncode != 0 and "SMS_GATEWAY_TOKEN must be set" in without_token.stderr


def test_production_needs_a_public_base_url_when_the_hosts_are_a_pattern():
    result = manage("check", **{**PRODUCTION_ENV, "ALLOWED_HOSTS": ".example.cn"})
    assert result.returncode != 0 and "PUBLIC_BASE_URL must be set" in result.stderr
