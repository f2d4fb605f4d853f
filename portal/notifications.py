"""Notifications (DESIGN §9): a row per recipient, sent after commit by a task (a transition's few rows by the
outbox drain, a sweep's many in chunks), retried with backoff."""

from collections.abc import Iterable
from datetime import timedelta
from typing import NamedTuple

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.utils import timezone

from portal.broker import WAKE_SECONDS, publish, wake, woken
from portal.models import Notification, User
from portal.sms import get_sms_backend
from portal.tasks import notification_drain_task, notification_send_many_task

MAX_ATTEMPTS = 8


def notify(*, users: Iterable[User], kind: str, message: str, application: str = "") -> list[Notification]:
    """Create one notification per distinct user; sending is queued for after the commit."""
    now = timezone.now()
    recipients = dict.fromkeys(user.pk for user in users if user is not None)
    rows = Notification.objects.bulk_create(
        Notification(user_id=pk, kind=kind, application=application, message=message, next_attempt_at=now)
        for pk in recipients
    )
    ids = [row.pk for row in rows]
    if ids:
        transaction.on_commit(lambda: enqueue_sending(ids))
    return rows


class Message(NamedTuple):
    """One entry of notify_many: a plain 4-tuple works too (no contact phone)."""

    user_ids: Iterable[int]
    kind: str
    message: str
    application: str
    contact_phone: str = ""  # also sent the SMS (a case's contact phone), besides each user's own phone


def notify_many(*, messages: Iterable[tuple]) -> list[int]:
    """Many notifications in one INSERT: each Message (user ids, kind, message, case number[, contact phone])
    becomes a row per distinct user; returns their ids. The sweeps use this so their cost per changed case
    is a row, not a round trip. On PostgreSQL the rows go as arrays through `unnest` (no model instance per row)."""
    rows = [(pk, entry.kind, entry.message, entry.application, entry.contact_phone)
            for entry in (Message(*message) for message in messages) for pk in dict.fromkeys(entry.user_ids)]
    if not rows:
        return []
    now = timezone.now()
    if connection.vendor == "postgresql":
        user_ids, kinds, texts, applications, phones = (list(column) for column in zip(*rows))
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO portal_notification (user_id, kind, message, application, contact_phone, created_at,"
                " next_attempt_at, attempts, last_error)"
                " SELECT user_id, kind, message, application, contact_phone, %s, %s, 0, ''"
                " FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[])"
                " AS row (user_id, kind, message, application, contact_phone) RETURNING id",
                [now, now, user_ids, kinds, texts, applications, phones],
            )
            ids = [row[0] for row in cursor.fetchall()]
    else:
        ids = [row.pk for row in Notification.objects.bulk_create(
            Notification(user_id=pk, kind=kind, application=application, message=message, contact_phone=phone,
                         next_attempt_at=now)
            for pk, kind, message, application, phone in rows
        )]
    transaction.on_commit(lambda: enqueue_sending(ids))
    return ids


SEND_CHUNK = 200  # notifications per queued task: one publish per chunk, and chunks spread over workers
# Fewer rows than this (a transition's: the applicant, a principal) wake the outbox drain instead of queuing
# a task of their own: under load one queued drain sends what many commits wrote (portal.broker.wake).
WAKE_BELOW = 20
DRAIN_BATCH = 200
# A row's time stamp is the web host's clock, the drain's `now` the worker host's: a drain looks this far
# ahead, so a host whose clock is behind still sends the rows it was queued for (a retry due within it goes
# out a little early: the backoff is minutes).
DRAIN_CLOCK_MARGIN = timedelta(seconds=30)


def enqueue_sending(ids: list[int]) -> None:
    """Hand the rows to the broker; if it is unreachable they stay unsent and the retry sweep sends them.
    A sweep's many rows go in chunks, spread over the workers; a transition's few wake the drain."""
    if len(ids) < WAKE_BELOW:
        wake(notification_drain_task, name="notifications", what=f"通知 {ids[0]} 等 {len(ids)} 条")
        return
    for start in range(0, len(ids), SEND_CHUNK):
        chunk = ids[start:start + SEND_CHUNK]
        if not publish(notification_send_many_task, args=[chunk], what=f"通知 {chunk[0]} 等 {len(ids) - start} 条"):
            return


def notification_drain(*, batch: int = DRAIN_BATCH) -> int:
    """The drain a commit woke: clears the mark first (a commit from now on wakes the next drain), then
    sends what is due, oldest first. A full batch wakes another drain for the rest."""
    if not woken("notifications"):
        publish(notification_drain_task, args=[], what="通知（标记未能清除）", countdown=WAKE_SECONDS + 1)
    due = list(_due(ahead=DRAIN_CLOCK_MARGIN).values_list("pk", flat=True)[:batch])
    sent = sum(notification_send(notification_id=pk) for pk in due)
    if len(due) == batch:
        wake(notification_drain_task, name="notifications", what="通知（续）")
    return sent


def _due(*, ahead: timedelta = timedelta(0)):
    return (Notification.objects.filter(sent_at__isnull=True, next_attempt_at__lte=timezone.now() + ahead,
                                        attempts__lt=MAX_ATTEMPTS).order_by("next_attempt_at"))


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2 ** attempts, 240))


def sms_recipients(notification: Notification) -> list[str]:
    """The account's phone and the row's contact phone, each number once (spaces do not make it another)."""
    numbers = (number.replace(" ", "") for number in (notification.user.phone, notification.contact_phone))
    return list(dict.fromkeys(number for number in numbers if number))


def notification_send(*, notification_id: int) -> bool:
    """Send one notification by email and SMS where the user has them (and to its contact phone).
    Idempotent: a sent row is skipped, and a row another worker is sending is skipped too (skip_locked)."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("user").filter(pk=notification_id, sent_at__isnull=True).first()
        )
        if notification is None:
            return False
        user = notification.user
        try:
            if user.email:
                send_mail("一网通办 办件提醒", notification.message, settings.DEFAULT_FROM_EMAIL, [user.email])
            for phone in sms_recipients(notification):
                get_sms_backend().send(phone=phone, message=f"【一网通办】{notification.message}")
        except Exception as error:  # a failing mail server or SMS gateway: retry later with backoff
            notification.attempts += 1
            notification.last_error = str(error)[:300]
            notification.next_attempt_at = timezone.now() + _backoff(notification.attempts)
            notification.save(update_fields=["attempts", "last_error", "next_attempt_at"])
            return False
        notification.attempts += 1
        notification.sent_at = timezone.now()
        notification.next_attempt_at = None
        notification.save(update_fields=["attempts", "sent_at", "next_attempt_at"])
        return True


def notification_retry_sweep(*, batch: int = 1000) -> int:
    """Send what is due and unsent: rows a lost broker never delivered, or a gateway refused."""
    return sum(notification_send(notification_id=pk) for pk in list(_due().values_list("pk", flat=True)[:batch]))


def notification_mark_read(*, user: User, notification_id: int) -> Notification:
    notification = Notification.objects.get(pk=notification_id, user=user)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification
