"""Read replicas (docs/deploy.md): catalogue and statistics reads may go to a replica when one is set up.

Everything that writes, locks, or must see its own writes stays on the primary.
"""

from django.conf import settings

REPLICA = "replica"
# Catalogue models change only on publication; a replica a moment behind is fine for them.
REPLICA_APPS = {"items"}


def reporting_database() -> str:
    """The alias statistics read from: the replica when configured, else the primary."""
    return REPLICA if REPLICA in settings.DATABASES else "default"


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if model._meta.app_label in REPLICA_APPS and REPLICA in settings.DATABASES:
            return REPLICA
        return "default"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica is a copy of the primary: same rows

    def allow_migrate(self, db, app_label, **hints):
        return db == "default"
