"""`unchanged(...)`: a refused request or service call left the database as it was (STYLE.md: every refusal
test asserts both the answer and that nothing changed).

    with unchanged(submitted):
        response = as_user(reviewer).post(f"/api/v1/applications/{submitted}/accept/")
    assert response.status_code == 403
"""

from contextlib import contextmanager

from django.db import models

from applications.models import Application
from certificates.models import Certificate
from portal.models import AuditEvent, Notification


def _row(instance: models.Model) -> dict:
    """The object as stored: every column, and how many rows of any table point at it (a case's materials,
    notices, documents, suspensions, referrals, issuances, seal uses, rating …)."""
    model = type(instance)
    stored = model._base_manager.filter(pk=instance.pk).values().first()
    pointing = {
        f"{field.related_model._meta.label} → {field.field.name}":
            field.related_model._base_manager.filter(**{field.field.name: instance.pk}).count()
        for field in model._meta.get_fields(include_hidden=True)
        if field.auto_created and not field.concrete and (field.one_to_many or field.one_to_one)
    }
    return {**(stored or {"(row)": "deleted"}), **pointing}


def _snapshot(objects) -> dict:
    snapshot = {"audit events": AuditEvent.objects.count()}
    for each in objects:
        instance = Application.objects.get(number=each) if isinstance(each, str) else each
        key = f"{type(instance)._meta.label} {instance.pk}"
        snapshot[key] = _row(instance)
        if isinstance(instance, Application):
            # What refers to a case by its number rather than by a key.
            snapshot[key].update({
                "audit events of the case": AuditEvent.objects.filter(object_type="application", object_id=instance.number).count(),
                "notifications of the case": Notification.objects.filter(application=instance.number).count(),
                "certificates of the case": Certificate.objects.filter(application_number=instance.number).count(),
            })
    return snapshot


@contextmanager
def unchanged(*objects):
    """Assert that the block changes none of `objects` (model instances, or case numbers) nor anything
    pointing at them, and appends nothing to the audit chain."""
    before = _snapshot(objects)
    yield
    after = _snapshot(objects)
    changed = {}
    for key, was in before.items():
        now = after[key]
        if isinstance(was, dict):
            now = {part: now.get(part) for part in was} | now
            changed.update({f"{key} {part}": (was.get(part), value) for part, value in now.items() if was.get(part) != value})
        elif was != now:
            changed[key] = (was, now)
    assert not changed, f"a refusal changed the database (before, after): {changed}"
