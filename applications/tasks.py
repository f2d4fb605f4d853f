"""The case timers (Celery beat, portal.celery). Each task imports its service inside the function: services may
import tasks at module level to queue them, never the other way round."""

from celery import shared_task


@shared_task(name="applications.application_deem_accept_task")
def application_deem_accept_task() -> int:
    from applications.services import application_deem_accept_sweep

    return application_deem_accept_sweep()


@shared_task(name="applications.application_alert_task")
def application_alert_task() -> int:
    from applications.services import application_alert_sweep

    return application_alert_sweep()


@shared_task(name="applications.application_deferral_task")
def application_deferral_task() -> dict:
    from applications.services import application_deferral_sweep

    return application_deferral_sweep()


@shared_task(name="applications.rectification_overdue_task")
def rectification_overdue_task() -> int:
    from applications.services import rectification_overdue_sweep

    return rectification_overdue_sweep()


@shared_task(name="applications.statistics_rollup_task")
def statistics_rollup_task() -> int:
    from applications.services import statistics_rollup_sweep

    return statistics_rollup_sweep()


@shared_task(name="applications.statistics_rollup_today_task")
def statistics_rollup_today_task() -> int:
    from applications.services import statistics_rollup_today

    return statistics_rollup_today()


@shared_task(name="applications.appointment_slots_task")
def appointment_slots_task() -> int:
    from applications.services import appointment_slots_sweep

    return appointment_slots_sweep()


@shared_task(name="applications.complaint_overdue_task")
def complaint_overdue_task() -> int:
    from applications.services import complaint_overdue_sweep

    return complaint_overdue_sweep()
