"""A real OpenID Connect provider for the tests of 统一身份认证 (decision 048): django-oidc-provider in a tiny
Django project of its own (this package: settings, URLs, a login form, people with a verified ID number),
on its own SQLite database. `tests/portal/test_oidc.py` starts it with gunicorn; nothing of it is the portal's."""
