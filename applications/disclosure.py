"""好差评 公开 (DESIGN §15, 国办发〔2019〕51号 "评价结果公开"): per department, how many rated, how satisfied,
how much of the 差评 was put right — for anyone, with no personal data. Two grouped queries for a year,
kept in the cache for a few minutes (a rating lands on the public page within that time).

    disclosure = ratings_disclosure(year=2026)
"""

from dataclasses import dataclass
from datetime import date, datetime, time

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, F, Q
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from applications.models import POOR_SCORES, Complaint, Rating, Rectification, RectificationState

CACHE_SECONDS = 300
SATISFIED_SCORES = (1, 2, 3)
# A 差评 counts as put right when the department rectified it and a supervisor confirmed it (复核).
RECTIFIED = [RectificationState.DONE]


@dataclass(frozen=True)
class DepartmentRatings:
    name: str
    ratings: int
    satisfied: int
    poor: int
    rectified: int

    @property
    def satisfaction(self) -> float | None:
        return round(self.satisfied / self.ratings, 4) if self.ratings else None

    @property
    def rectified_share(self) -> float | None:
        return round(self.rectified / self.poor, 4) if self.poor else None


def _year_range(year: int):
    start = timezone.make_aware(datetime.combine(date(year, 1, 1), time.min))
    end = timezone.make_aware(datetime.combine(date(year + 1, 1, 1), time.min))
    return start, end


def ratings_disclosure(*, year: int) -> list[DepartmentRatings]:
    """Every department rated in `year` (valid ratings only: those a supervisor judged invalid do not count)."""
    key = f"ratings-disclosure:{year}"
    found = _cache_get(key)
    if found is not None:
        return found
    start, end = _year_range(year)
    rated = (
        Rating.objects.filter(rated_at__gte=start, rated_at__lt=end, invalid=False)
        .values("department_id", "department__name")
        .annotate(ratings=Count("pk"), satisfied=Count("pk", filter=Q(score__in=SATISFIED_SCORES)),
                  poor=Count("pk", filter=Q(score__in=POOR_SCORES)))
        .order_by()
    )
    rectified = dict(
        Rectification.objects.filter(rating__rated_at__gte=start, rating__rated_at__lt=end, rating__invalid=False,
                                     state__in=RECTIFIED)
        .values("department_id").annotate(count=Count("pk")).order_by().values_list("department_id", "count")
    )
    rows = sorted(
        (DepartmentRatings(name=row["department__name"], ratings=row["ratings"], satisfied=row["satisfied"],
                           poor=row["poor"], rectified=rectified.get(row["department_id"], 0)) for row in rated),
        key=lambda row: (-row.ratings, row.name),
    )
    _cache_set(key, rows)
    return rows


@dataclass(frozen=True)
class DepartmentComplaints:
    name: str
    received: int
    answered: int
    on_time: int

    @property
    def on_time_share(self) -> float | None:
        return round(self.on_time / self.answered, 4) if self.answered else None


def complaint_figures(*, start: datetime, end: datetime, department_id: int | None = None) -> list[DepartmentComplaints]:
    """投诉 received in [start, end) per department (decision 059): how many, how many answered, how many of
    those answered by their due date (the first answer counts). Counts only."""
    rows = Complaint.objects.filter(received_at__gte=start, received_at__lt=end)
    if department_id is not None:
        rows = rows.filter(department_id=department_id)
    return sorted(
        (DepartmentComplaints(name=row["department__name"], received=row["received"], answered=row["answered"],
                              on_time=row["on_time"])
         for row in rows.values("department__name")
         .annotate(received=Count("pk"), answered=Count("pk", filter=Q(first_answered_at__isnull=False)),
                   on_time=Count("pk", filter=Q(first_answered_at__date__lte=F("due_date"))))
         .order_by()),
        key=lambda row: (-row.received, row.name),
    )


def complaints_disclosure(*, year: int) -> list[DepartmentComplaints]:
    """The year's complaint_figures for the public page, cached like the ratings."""
    key = f"complaints-disclosure:{year}"
    found = _cache_get(key)
    if found is not None:
        return found
    start, end = _year_range(year)
    rows = complaint_figures(start=start, end=end)
    _cache_set(key, rows)
    return rows


def _cache_get(key):
    try:
        return cache.get(key)
    except Exception:  # the cache (Redis) is down: count from the database
        return None


def _cache_set(key, value) -> None:
    try:
        cache.set(key, value, CACHE_SECONDS)
    except Exception:
        pass


# --- the page and the API (anyone) ------------------------------------------------------------------------

FIRST_YEAR = 2019  # 国办发〔2019〕51号: 好差评 began


def _year(value, today: date) -> int | None:
    if value in (None, ""):
        return today.year
    try:
        year = int(value)
    except (TypeError, ValueError):
        return None
    return year if FIRST_YEAR <= year <= today.year else None


def ratings_page(request):
    """/ratings/: the year's table, a year to choose, no personal data."""
    today = timezone.localdate()
    year = _year(request.GET.get("year"), today)
    if year is None:
        raise Http404("没有该年度的评价数据")
    rows = ratings_disclosure(year=year)
    totals = DepartmentRatings(name="合计", ratings=sum(r.ratings for r in rows), satisfied=sum(r.satisfied for r in rows),
                               poor=sum(r.poor for r in rows), rectified=sum(r.rectified for r in rows))
    return render(request, "applications/pages/ratings_public.html", {
        "year": year, "years": range(today.year, FIRST_YEAR - 1, -1), "rows": rows, "totals": totals,
        "complaints": complaints_disclosure(year=year), "complaint_due_days": settings.COMPLAINT_DUE_WORKING_DAYS,
    })


class PublicRatingsApi(APIView):
    """好差评公开 (DESIGN §10 `ratings/public/`): per department for a year (default this year)."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[OpenApiParameter("year", int, description="年度（默认今年）")],
        responses=inline_serializer("PublicRatings", {
            "year": serializers.IntegerField(),
            "departments": inline_serializer("PublicDepartmentRatings", {
                "department": serializers.CharField(), "ratings": serializers.IntegerField(),
                "satisfied": serializers.IntegerField(), "satisfaction_rate": serializers.FloatField(allow_null=True),
                "poor": serializers.IntegerField(), "rectified": serializers.IntegerField(),
                "rectified_share": serializers.FloatField(allow_null=True),
            }, many=True),
            # 投诉 (decision 059): counts only, as on the page.
            "complaints": inline_serializer("PublicDepartmentComplaints", {
                "department": serializers.CharField(), "received": serializers.IntegerField(),
                "answered": serializers.IntegerField(), "answered_on_time": serializers.IntegerField(),
                "on_time_share": serializers.FloatField(allow_null=True),
            }, many=True),
        }),
    )
    def get(self, request):
        year = _year(request.query_params.get("year"), timezone.localdate())
        if year is None:
            return Response({"year": [f"年度应为 {FIRST_YEAR} 至今年"]}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"year": year, "departments": [
            {"department": row.name, "ratings": row.ratings, "satisfied": row.satisfied,
             "satisfaction_rate": row.satisfaction, "poor": row.poor, "rectified": row.rectified,
             "rectified_share": row.rectified_share}
            for row in ratings_disclosure(year=year)
        ], "complaints": [
            {"department": row.name, "received": row.received, "answered": row.answered,
             "answered_on_time": row.on_time, "on_time_share": row.on_time_share}
            for row in complaints_disclosure(year=year)
        ]})
