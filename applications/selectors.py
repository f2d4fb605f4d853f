"""Reads of cases: querysets with their relations fetched once."""

from django.db.models import Prefetch, QuerySet

from applications.models import Application, Material
from applications.permissions import visible_applications
from portal.models import AuditEvent, User


def application_list(*, user: User, state: str | None = None) -> QuerySet[Application]:
    cases = visible_applications(user=user).select_related("item_version", "item_version__item")
    if state:
        cases = cases.filter(state=state)
    return cases


def application_detail(*, application: Application) -> Application:
    return (
        Application.objects.select_related("item_version", "item_version__item", "department", "hall")
        .prefetch_related(
            "item_version__materials__satisfied_by",
            Prefetch("materials", queryset=Material.objects.order_by("requirement_id", "-version")),
            "notices__deficiencies__requirement",
            "documents",
            "suspensions",
        )
        .get(pk=application.pk)
    )


def application_events(*, application: Application) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(object_type="application", object_id=application.number).order_by("seq")
