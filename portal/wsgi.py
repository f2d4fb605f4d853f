import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")

application = get_wsgi_application()
# Import every view (and WeasyPrint, pyHanko behind them: ~2 s) while the worker boots, not on the first
# request it serves — which would be a load balancer's health probe or a citizen.
get_resolver().url_patterns
