"""The context every log line carries: the request id (from the web request, or the task that request
queued) and, inside a Celery task, the task's id and name. Loaded by the logging configuration, before the
apps: it imports no model."""

import contextvars
import logging

from celery import current_task

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


class LogContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id_var.get()
        task = current_task
        if task and task.request.id and not getattr(record, "task_id", None):
            record.task_id = task.request.id
            record.task_name = task.name
        return True
