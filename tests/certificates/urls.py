"""The project's URLs, plus certificates' own where portal/urls.py does not include them yet.

portal/urls.py is the lead's; until it carries `path("", include("certificates.api_urls"))` in `api_v1`
and `path("", include("certificates.urls"))` in `urlpatterns`, these tests mount them here. Once it does,
this module adds nothing and the tests run against portal.urls as it stands.
"""

from django.urls import include, path

from portal import urls as portal_urls


def _includes(patterns, module: str) -> bool:
    return any(getattr(pattern, "urlconf_name", None) is not None
               and getattr(pattern.urlconf_name, "__name__", pattern.urlconf_name) == module for pattern in patterns)


api_v1 = list(portal_urls.api_v1)
if not _includes(api_v1, "certificates.api_urls"):
    api_v1.append(path("", include("certificates.api_urls")))

urlpatterns = []
for pattern in portal_urls.urlpatterns:
    if str(pattern.pattern) == "api/v1/":
        pattern = path("api/v1/", include((api_v1, "api")))
    urlpatterns.append(pattern)
if not _includes(urlpatterns, "certificates.urls"):
    urlpatterns.insert(0, path("", include("certificates.urls")))
