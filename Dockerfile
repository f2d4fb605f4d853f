FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=portal.settings.production \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-noto-cjk libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0 poppler-utils postgresql-client curl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Exactly what `make smoke` installs and proves: requirements.txt, nothing else.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt && pip check
COPY . .
RUN SECRET_KEY=build SEAL_MASTER_KEY=ZGV2LW9ubHktc2VhbC1tYXN0ZXIta2V5LTMyYnl0ZXM= \
    AUDIT_ANCHOR_KEY=ZGV2LW9ubHktYXVkaXQtYW5jaG9yLWtleS0zMmJ5dGU= ALLOWED_HOSTS=build \
    python manage.py collectstatic --noinput
# The volumes' mount points exist and belong to portal: Docker gives a new named volume the image's owner.
RUN useradd --system --home /app portal && mkdir -p /app/var/media /app/var/anchors && chown -R portal /app/var
USER portal
EXPOSE 8000
CMD ["gunicorn", "-c", "python:portal.gunicorn_conf", "portal.wsgi:application"]
