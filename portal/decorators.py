"""View decorators shared by every app's pages: who may open a page at all."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404


def role_required(*roles: str, with_department: bool = False):
    """Anonymous → the login page; a signed-in user of another role (or, with `with_department`, one who
    belongs to no department) → 404, as if the page did not exist."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(request, *args, **kwargs):
            user = request.user
            if user.role not in roles or (with_department and not user.department_id):
                raise Http404("页面不存在")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
