"""`manage.py check --database default` proves SEAL_MASTER_KEY opens the stored keys: after a restore, or a
key rotated by mistake, no seal could sign (and nothing else would say why until the first issuance)."""

from cryptography.fernet import InvalidToken
from django.core.checks import Error, register
from django.db import connection

from seals import keys
from seals.models import Seal, SealAuthority, SealStatus


@register("seals")
def seal_keys_open(app_configs=None, databases=None, **kwargs):
    if not databases or "default" not in databases:
        return []  # reads the database: only when asked to (`--database default`)
    if SealAuthority._meta.db_table not in connection.introspection.table_names():
        return []  # `migrate` runs the checks before it creates the tables: nothing stored yet to open
    stored = [("电子印章 CA", authority.encrypted_key) for authority in SealAuthority.objects.all()[:1]]
    stored += [(seal.code, seal.encrypted_key) for seal in Seal.objects.filter(status=SealStatus.ACTIVE)]
    errors = []
    for name, encrypted in stored:
        try:
            keys.decrypt_key(encrypted)
        except (InvalidToken, ValueError):
            errors.append(Error(
                f"{name} 的私钥无法用当前 SEAL_MASTER_KEY 解开：请使用备份/签发时的同一把主密钥",
                id="seals.E001",
            ))
    return errors
