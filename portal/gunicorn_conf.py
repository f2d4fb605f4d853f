"""gunicorn as production runs it: `gunicorn -c python:portal.gunicorn_conf portal.wsgi:application`.

The application writes one log line per request itself (with the request id), so gunicorn's access log is
off; its own messages go out in the same format as the application's (`LOG_FORMAT`, JSON by default here).
With `PROMETHEUS_MULTIPROC_DIR` set, the workers' metrics are added up at each scrape; the folder is emptied
when the server starts and a dead worker's files are let go.
"""

import os
import shutil
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))  # two per core (docs/deploy.md)
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
accesslog = None
_json = os.environ.get("LOG_FORMAT", "json") == "json"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "line": {"()": "pythonjsonlogger.json.JsonFormatter", "fmt": "%(levelname)s %(name)s %(message)s",
                 "rename_fields": {"levelname": "level", "name": "logger"}, "timestamp": "time", "json_ensure_ascii": False}
        if _json else {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "line", "stream": "ext://sys.stderr"}},
    "loggers": {"gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}


def on_starting(server):
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
