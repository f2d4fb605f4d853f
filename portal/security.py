"""Headers that keep a browser from running or keeping what it should not (decision 040).

- Every page gets a strict Content-Security-Policy: scripts and styles from our own files only, no inline
  code, no plug-ins, no framing. A file we serve is a download with a sandbox policy (`file_response`).
- Whatever is personal is never stored by a browser or a proxy: `Cache-Control: no-store` on every answer
  to a request that carries credentials, on the whole API but the public catalogue, and on the public
  verification (a revocation must show at once).
"""

from django.conf import settings
from django.http import FileResponse

PAGE_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
])
# A downloaded or directly opened file runs nothing and loads nothing, even if a viewer would let it.
FILE_POLICY = "sandbox; default-src 'none'; frame-ancestors 'none'"

# Public reads meant to be cached: the same for everyone and changed only by publication.
CACHEABLE_API_PREFIXES = ("/api/v1/departments/", "/api/v1/items/", "/api/v1/workdays/")
# Public, but about one person's certificate: always asked afresh.
NO_STORE_PUBLIC_PREFIXES = ("/verify/", "/api/v1/")


def file_response(file, *, filename: str, content_type: str | None = None) -> FileResponse:
    """A stored file as the browser should get it: always a download (our own signed PDFs too: browsers
    refuse to show a PDF under a sandbox policy, and a reader shows the seal's signature anyway), its
    declared type and no other (nosniff), and sandboxed should it be opened in the browser after all."""
    response = FileResponse(file, as_attachment=True, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = FILE_POLICY
    return response


def carries_credentials(request) -> bool:
    """A session cookie or an Authorization header: the answer may be about this user. (Cheaper than
    asking request.user, which costs a session and a user query on pages that never looked.)"""
    return settings.SESSION_COOKIE_NAME in request.COOKIES or "HTTP_AUTHORIZATION" in request.META


def needs_no_store(request) -> bool:
    if carries_credentials(request):
        return True
    if request.path.startswith(CACHEABLE_API_PREFIXES):
        return False
    return request.path.startswith(NO_STORE_PUBLIC_PREFIXES)


class SecurityHeadersMiddleware:
    """Adds the page policy and `no-store` where a view did not decide for itself."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = PAGE_POLICY
        if "Cache-Control" not in response and needs_no_store(request):
            response["Cache-Control"] = "no-store"
        return response
