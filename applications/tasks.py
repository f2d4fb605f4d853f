from celery import shared_task

from applications.services import application_alert_sweep, application_deem_accept_sweep


@shared_task(name="applications.application_deem_accept_task")
def application_deem_accept_task() -> int:
    return application_deem_accept_sweep()


@shared_task(name="applications.application_alert_task")
def application_alert_task() -> int:
    return application_alert_sweep()


# --- service quality (DESIGN §6) ---------------------------------------------------------------------

from applications.services import rectification_overdue_sweep


@shared_task(name="applications.rectification_overdue_task")
def rectification_overdue_task() -> int:
    return rectification_overdue_sweep()


from applications.services import statistics_rollup_sweep, statistics_rollup_today


@shared_task(name="applications.statistics_rollup_task")
def statistics_rollup_task() -> int:
    return statistics_rollup_sweep()


@shared_task(name="applications.statistics_rollup_today_task")
def statistics_rollup_today_task() -> int:
    return statistics_rollup_today()
