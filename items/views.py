"""办事指南 pages: public, server-rendered, published versions only."""

from pathlib import PurePosixPath

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render

from items.forms import GuideFilterForm
from items.models import Theme
from items.selectors import (
    MatchingVersions,
    bundle_get_published,
    bundle_list,
    bundle_members,
    bundle_promised_days,
    item_get_by_code,
    item_get_current,
    item_get_version,
    item_history,
    item_list,
    material_get_published,
    shared_requirement_names,
)
from portal.security import file_response

PAGE_SIZE = 20


def guide(request):
    form = GuideFilterForm(request.GET or None)
    filters = form.filters() if form.is_bound else {}
    # The list shows no materials: skip their prefetch.
    versions = item_list(**filters).prefetch_related(None)
    if filters.get("search", "").split():
        versions = MatchingVersions(versions)  # the search runs once, not for a COUNT and again for the page
    page = Paginator(versions, PAGE_SIZE).get_page(request.GET.get("page"))
    # 一件事一次办 (DESIGN §4 "Bundles") matching the search come first, on the first page.
    search = filters.get("search", "")
    bundles = bundle_list(search=search) if search.split() and page.number == 1 else []
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "items/guide.html",
        {
            "form": form,
            "page": page,
            "bundles": bundles,
            "themes": Theme.choices,
            "active_theme": filters.get("theme", ""),
            "query_string": query.urlencode(),
            "filtered": any(value not in ("", None) for value in filters.values()),
        },
    )


def detail(request, code):
    version = item_get_current(code=code)
    return render(request, "items/detail.html", {
        "version": version, "item": version.item, "is_current": True, "bundles": bundle_list(item=version.item),
    })


def version_detail(request, code, number):
    version = item_get_version(code=code, number=number)
    item = version.item
    if item.current_version_id == version.id:
        return redirect("items:detail", code=code)
    return render(request, "items/detail.html", {"version": version, "item": item, "is_current": False})


def history(request, code):
    item = item_get_by_code(code=code)
    return render(request, "items/history.html", {"item": item, "entries": item_history(item=item)})


def material_file(request, material_id, kind):
    """Blank forms and samples of published versions are public downloads (never a draft's)."""
    if kind not in ("blank_form", "sample"):
        raise Http404
    material = material_get_published(material_id=material_id)
    file = getattr(material, kind)
    if not file or not file.storage.exists(file.name):
        raise Http404("文件不存在")
    return file_response(file.open("rb"), filename=PurePosixPath(file.name).name)


# --- 一件事一次办 (DESIGN §4 "Bundles") --------------------------------------------------------------


def bundles(request):
    return render(request, "items/bundles.html", {"bundles": bundle_list()})


def bundle_detail(request, code):
    bundle = bundle_get_published(code=code)
    members = bundle_members(bundle)
    covered = shared_requirement_names(bundle)
    other_materials = [
        {"item": member.version.name, "name": requirement.name, "required": requirement.required}
        for member in members
        for requirement in member.version.materials.all()
        if requirement.name not in covered.get(member.item.code, set())
    ]
    departments = {member.version.department_id for member in members}
    return render(request, "items/bundle_detail.html", {
        "bundle": bundle, "members": members, "departments": departments,
        "promised_days": bundle_promised_days(bundle), "other_materials": other_materials,
    })
