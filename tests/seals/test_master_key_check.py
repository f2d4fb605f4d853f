"""`manage.py check --database default` says when SEAL_MASTER_KEY does not open the stored keys (a restore
with the wrong key, a key rotated by mistake) instead of the first issuance failing."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def test_the_right_key_passes(seal):
    output = io.StringIO()
    call_command("check", databases=["default"], stdout=output)
    assert "no issues" in output.getvalue()


def test_another_key_is_named_for_the_ca_and_each_active_seal(seal):
    with override_settings(SEAL_MASTER_KEY=Fernet.generate_key().decode()):
        with pytest.raises(SystemCheckError) as refused:
            call_command("check", databases=["default"])
    message = str(refused.value)
    assert message.count("seals.E001") == 2 and "电子印章 CA" in message and seal.code in message


def test_without_a_database_the_check_reads_nothing(seal, django_assert_num_queries):
    with override_settings(SEAL_MASTER_KEY=Fernet.generate_key().decode()), django_assert_num_queries(0):
        call_command("check", stdout=io.StringIO())


def test_migrate_on_an_empty_database_is_not_stopped_by_the_check(tmp_path):
    """`migrate` runs the checks with the database before any table exists (a fresh install, `make run`,
    compose's first start); `--plan` stops right after them."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings.dev",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}"}
    result = subprocess.run([sys.executable, "manage.py", "migrate", "--plan"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "seals.0001_initial" in result.stdout or "Create model Seal" in result.stdout
