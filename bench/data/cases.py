"""Cases (办件) at DESIGN §12 scale: 2 million, 1 million of them open, on top of the catalogue.

    data = bench_cases(ctx)                        # the full size (ctx.scale × 1 M open, 1 M closed)
    data = bench_cases(ctx, open_cases=100_000)    # at least this many open cases; grows later on demand

Who: the city's halls with their window clerks, per department a head and reviewers (more for the bigger
departments), a supervisor and a seal custodian, and a few thousand applicants whose accounts many cases
share (a citizen or company applies again and again). Every account signs in with BENCH_PASSWORD.

What: the open cases are accepted (25 %), in review (65 %, claimed by one of the department's reviewers)
or suspended (10 %); the closed ones delivered (85 %), withdrawn (8 %) or not accepted (7 %). Departments
are Zipf-sized (the biggest, 市场监督管理局, holds about one case in seven), items within a department
uniformly. A running case was accepted some way into its promised working days (a few overdue, a thin tail
long overdue), `due_date` is `add_working_days(accepted day, promised days)` on the real calendar, and
`alert_level` / `next_alert_on` are what `applications.clock.alert_state` gave the last sweep, yesterday.
Exactly `changing` running cases change level today — green→yellow, yellow→red and red→overdue in equal
parts — and no other case does, so `application_alert_sweep(today=…)` has exactly that work; their
yesterday values are kept in `bench_alert_reset` so a case can put them back (`reset_alert_changes`).
Suspended cases keep their level frozen with no `next_alert_on`, as `application_suspend` leaves them.

How: COPY of plain tuples with ids from `reserve_ids` (copy_instances does ~18k rows/s; this ~100k),
inside `bulk_load` (secondary indexes and constraints rebuilt once at the end), then VACUUM (ANALYZE).
Only the case rows and the columns a case needs are written: no audit events, suspension rows, documents,
materials, notifications or ratings for the bulk cases (the pages and services measured here do not read
them; the audit chain holds only what the measured services append). The daily number sequences are
written too, so numbers the services hand out later never collide with bulk ones.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import itertools
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from stdnum.cn import ric

from bench.data.catalogue import CITY, DISTRICTS, build_catalogue

BENCH_PASSWORD = "bench-Passw0rd-2026"
TZ = ZoneInfo("Asia/Shanghai")
FULL_OPEN = 1_000_000
FULL_CLOSED = 1_000_000
FULL_CHANGING = 10_000  # 1 % of the open cases change level today
FULL_APPLICANTS = 5_000

OPEN_STATES = (("accepted", 25), ("in_review", 65), ("suspended", 10))
CLOSED_STATES = (("delivered", 85), ("withdrawn", 8), ("not_accepted", 7))
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰红梅志强建国建华丹萍鹏辉玲雪海燕宇浩然子涵梓轩欣怡一诺晨曦"
COMPANY_WORDS = ["长春", "吉林", "北方", "一汽", "东北", "净月", "南湖", "长白", "松花江", "亚泰"]
COMPANY_TRADES = ["商贸", "餐饮", "科技", "物流", "建筑", "食品", "医药", "文化", "汽车配件", "农业"]

APPLICATION_COLUMNS = (
    "id", "number", "item_version_id", "department_id", "hall_id", "channel", "state", "applicant_id",
    "applicant_name", "applicant_id_type", "applicant_id_number", "contact_phone", "contact_address", "form_data",
    "created_by_id", "created_at", "submitted_at", "accepted_at", "accepted_by_id", "deemed_accepted", "due_date",
    "due_date_provisional", "alert_level", "reviewer_id", "decided_at", "closed_at", "visits", "next_alert_on",
    "extended_days", "extension_reason", "decision_opinion", "decision_legal_basis", "outcome", "decided_by_id",
    "issuing", "issued_at", "certificate_identifier", "delivery_method", "tracking_number", "delivered_at",
)


@dataclass
class Version:
    id: int
    department_id: int
    promised_days: int
    warning_days: int
    name: str


@dataclass
class CaseData:
    """What was built, and who can act on it (usernames sign in with BENCH_PASSWORD)."""

    today: date
    open_cases: int = 0
    closed_cases: int = 0
    changing: int = 0
    open_by_department: Counter = field(default_factory=Counter)
    department_codes: dict[int, str] = field(default_factory=dict)
    department_names: dict[int, str] = field(default_factory=dict)
    hall_ids: list[int] = field(default_factory=list)
    clerks: list[str] = field(default_factory=list)  # usernames
    reviewers: dict[int, list[str]] = field(default_factory=dict)  # department id → usernames
    heads: dict[int, str] = field(default_factory=dict)
    supervisor: str = ""
    custodian: str = ""
    applicant_ids: list[int] = field(default_factory=list)
    versions: list[Version] = field(default_factory=list)
    build_seconds: dict[str, float] = field(default_factory=dict)
    # internal state for growing
    _rng: random.Random | None = None
    _numbers: Counter = field(default_factory=Counter)
    _user_ids: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.open_cases + self.closed_cases

    @property
    def biggest_department(self) -> int:
        return self.open_by_department.most_common(1)[0][0]

    def user_id(self, username: str) -> int:
        return self._user_ids[username]


def bench_cases(ctx, *, open_cases: int | None = None) -> CaseData:
    """The run's case data (built once, shared by every case through ctx.once), grown to `open_cases` open
    cases (default: the full ctx.scale × 1 M)."""
    catalogue = ctx.once("catalogue", lambda: build_catalogue(scale=ctx.scale, log=ctx.log))
    data = ctx.once("cases", lambda: _build_base(ctx, catalogue))
    wanted = ctx.scaled(FULL_OPEN) if open_cases is None else open_cases
    if data.open_cases < wanted:
        _grow(ctx, data, wanted)
    return data


# ---------------------------------------------------------------------------------------------- the clock


class Clock:
    """alert_state and add_working_days, memoised: 2 million cases share a few thousand (day, days) pairs."""

    def __init__(self, today: date):
        from portal.workdays import WorkCalendar

        self.calendar = WorkCalendar.load()
        # The same answers, remembered per day: chinese-calendar validates every date against its whole
        # table (~80 µs a call), and 2 million cases ask about the same few hundred days.
        self.calendar.is_working_day = functools.cache(self.calendar.is_working_day)
        self.calendar.is_known = functools.cache(self.calendar.is_known)
        self.today = today
        self.yesterday = today - timedelta(days=1)
        self._add: dict[tuple[date, int], tuple[date, bool]] = {}
        self._sub: dict[tuple[date, int], date] = {}
        self._state: dict[tuple[date, date, int], tuple[str, date | None]] = {}

    def add(self, day: date, days: int) -> tuple[date, bool]:
        key = (day, days)
        if key not in self._add:
            result = self.calendar.add_working_days(day, days)
            self._add[key] = (result.date, result.provisional)
        return self._add[key]

    def subtract(self, day: date, days: int) -> date:
        key = (day, days)
        if key not in self._sub:
            self._sub[key] = self.calendar.subtract_working_days(day, days)
        return self._sub[key]

    def state(self, on: date, due: date, warning: int) -> tuple[str, date | None]:
        from applications.clock import alert_state

        key = (on, due, warning)
        if key not in self._state:
            self._state[key] = alert_state(calendar=self.calendar, today=on, due_date=due, warning_days=warning)
        return self._state[key]


# ---------------------------------------------------------------------------------------------- users


def _valid_resident_id(number: str) -> bool:
    try:
        return ric.is_valid(number)
    except Exception:  # noqa: BLE001 - stdnum's region table raises KeyError for some codes
        return False


def _person(rng: random.Random, number: int, seen: set[str]) -> tuple[str, str]:
    """A name and a 居民身份证 number that python-stdnum (and so the services) accepts: its region table
    knows a county only for birth dates when the code was in use, so draw until it validates."""
    name = rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice([1, 2])))
    for attempt in range(50):
        if attempt < 40:
            district = rng.choice(["220102", "220103", "220104", "220105", "220106", "220112"])
            birth = date(1955, 1, 1) + timedelta(days=_between(rng, 0, 365 * 50))
        else:  # the factories' series: 南关区, 1990
            district, birth = "220102", date(1990, 1, 1) + timedelta(days=_between(rng, 0, 360))
        body = f"{district}{birth:%Y%m%d}{_between(rng, 0, 1000):03d}"
        candidate = body + ric.calc_check_digit(body + "0")  # it skips the last character
        if candidate not in seen and _valid_resident_id(candidate):
            seen.add(candidate)
            return name, candidate
    raise RuntimeError("no valid 居民身份证 number drawn")


def _build_users(ctx, data: CaseData, rng: random.Random) -> None:
    from django.contrib.auth.hashers import make_password

    from bench.lib import copy_rows, reserve_ids, with_model_defaults
    from portal.models import Department, Hall, User

    departments = list(Department.objects.order_by("pk").values_list("pk", "code", "name"))
    data.department_codes = {pk: code for pk, code, _ in departments}
    data.department_names = {pk: name for pk, _, name in departments}
    halls = [("CC-CITY", f"{CITY}政务服务中心", "3", 48)] + [
        (f"CC-{code}", f"{CITY}{district}政务服务中心", "4", 16) for code, district in DISTRICTS
    ]
    hall_rows = Hall.objects.bulk_create(Hall(code=code, name=name, level=level, windows=windows, address=f"{name}一楼")
                                         for code, name, level, windows in halls)
    data.hall_ids = [hall.pk for hall in hall_rows]

    password = make_password(BENCH_PASSWORD)  # one PBKDF2 hash for every account: hashing 5,000 takes minutes
    joined = datetime(2024, 1, 2, 9, 0, tzinfo=TZ)
    rows = []  # (username, role, real_name, id_type, id_number, department, hall)
    for hall in hall_rows:
        for number in range(1, 4):
            rows.append((f"clerk-{hall.code.lower()}-{number}", "clerk", f"窗口{number}号", "", None, None, hall.pk))
    # Bigger departments have more reviewers (set after the cases are spread; here by catalogue size).
    items_per_department = Counter(version.department_id for version in data.versions)
    for pk, code, _ in departments:
        reviewers = max(2, min(12, items_per_department[pk] // 8))
        rows.append((f"head-{code.lower()}", "head", f"{code}负责人", "", None, pk, None))
        for number in range(1, reviewers + 1):
            rows.append((f"rev-{code.lower()}-{number}", "reviewer", f"{code}审查员{number}", "", None, pk, None))
    rows.append(("supervisor-1", "supervisor", "监察员", "", None, None, None))
    rows.append(("custodian-1", "custodian", "印章管理员", "", None, None, None))
    applicants = ctx.scaled(FULL_APPLICANTS, minimum=50)
    seen: set[str] = set()
    for number in range(1, applicants + 1):
        name, id_number = _person(rng, number, seen)
        rows.append((f"citizen-{number:05d}", "applicant", name, "111", id_number, None, None))

    ids = reserve_ids(User, len(rows))
    copy_rows(User._meta.db_table, *with_model_defaults(User, (
        "id", "password", "is_superuser", "username", "first_name", "last_name", "email", "is_staff", "is_active",
        "date_joined", "role", "real_name", "id_type", "id_number", "phone", "address", "department_id", "hall_id",
    ), (
        (pk, password, False, username, "", "", "", False, True, joined, role, real_name, id_type, id_number, "", "",
         department, hall)
        for pk, (username, role, real_name, id_type, id_number, department, hall) in zip(ids, rows)
    )))
    for pk, (username, role, _, _, _, department, _) in zip(ids, rows):
        data._user_ids[username] = pk
        if role == "clerk":
            data.clerks.append(username)
        elif role == "reviewer":
            data.reviewers.setdefault(department, []).append(username)
        elif role == "head":
            data.heads[department] = username
        elif role == "supervisor":
            data.supervisor = username
        elif role == "custodian":
            data.custodian = username
        elif role == "applicant":
            data.applicant_ids.append(pk)
    data._applicants = [(pk, real_name, id_number) for pk, (_, role, real_name, _, id_number, _, _) in zip(ids, rows)
                        if role == "applicant"]


# ---------------------------------------------------------------------------------------------- cases


def _load_versions(catalogue) -> list[Version]:
    from items.models import ItemVersion

    versions = []
    for version in ItemVersion.objects.filter(pk__in=catalogue.version_ids).only(
        "pk", "department_id", "promised_days", "warning_days", "name"
    ):
        versions.append(Version(version.pk, version.department_id, version.promised_days,
                                version.effective_warning_days, version.name))
    return sorted(versions, key=lambda version: version.id)


class Picker:
    """Departments Zipf-sized by catalogue rank, items uniform within a department."""

    def __init__(self, versions: list[Version], rng: random.Random, *, promised_only: bool):
        by_department: dict[int, list[Version]] = {}
        for version in versions:
            if version.promised_days > 0 or not promised_only:
                by_department.setdefault(version.department_id, []).append(version)
        ranked = sorted(by_department, key=lambda pk: (-len(by_department[pk]), pk))
        self.departments = ranked
        self.by_department = by_department
        weights = [1 / (rank ** 0.9) for rank in range(1, len(ranked) + 1)]
        self.cumulative = list(itertools.accumulate(weights))
        self.rng = rng

    def __call__(self) -> Version:
        index = bisect.bisect(self.cumulative, self.rng.random() * self.cumulative[-1])
        return self.rng.choice(self.by_department[self.departments[min(index, len(self.departments) - 1)]])


def _stamp(day: date, rng: random.Random, *, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=TZ) + timedelta(minutes=_between(rng, 0, 420))


class Writer:
    """Turns case descriptions into COPY tuples: numbers, applicant snapshots, channel, hall, clerk."""

    def __init__(self, data: CaseData, rng: random.Random):
        self.data, self.rng = data, rng
        self.hall_codes = {}
        from portal.models import Hall

        self.hall_codes = dict(Hall.objects.filter(pk__in=data.hall_ids).values_list("pk", "code"))
        self.clerk_ids = [data.user_id(name) for name in data.clerks]
        self.clerk_hall = {data.user_id(name): hall for name in data.clerks
                           for hall, code in self.hall_codes.items() if name.startswith(f"clerk-{code.lower()}-")}
        self.reviewer_ids = {department: [data.user_id(name) for name in names]
                             for department, names in data.reviewers.items()}
        self.applicants = data._applicants

    def row(self, pk: int, version: Version, state: str, *, created: datetime, submitted: datetime | None,
            accepted: datetime | None, due: date | None, provisional: bool, level: str, next_on: date | None,
            decided: datetime | None = None, closed: datetime | None = None, outcome: str = "",
            issued: datetime | None = None, delivered: datetime | None = None, delivery: str = "") -> tuple:
        rng = self.rng
        applicant, name, id_number = self.applicants[_between(rng, 0, len(self.applicants))]
        online = rng.random() < 0.55
        clerk = self.clerk_ids[_between(rng, 0, len(self.clerk_ids))]
        hall = None if online and accepted is None else self.clerk_hall[clerk]
        prefix = "NET" if online else self.hall_codes[hall]
        day = created.date()
        self.data._numbers[(prefix, day)] += 1
        number = f"{prefix}-{day:%Y%m%d}-{self.data._numbers[(prefix, day)]:06d}"
        reviewer = None
        if state in ("in_review", "suspended", "delivered"):
            reviewer = rng.choice(self.reviewer_ids[version.department_id])
        return (
            pk, number, version.id, version.department_id, hall, "online" if online else "window", state, applicant,
            name, "111", id_number, "", "", "{}",
            applicant if online else clerk, created, submitted, accepted, clerk if accepted else None, False, due,
            provisional, level, reviewer, decided, closed, 0 if online else 1, next_on,
            0, "", "同意。" if outcome == "approved" else ("不符合条件。" if outcome == "rejected" else ""),
            "《中华人民共和国行政许可法》第三十八条" if outcome == "rejected" else "", outcome,
            reviewer if decided else None, False, issued, "", delivery, "", delivered,
        )


def _running_case(clock: Clock, rng: random.Random, version: Version) -> tuple[date, date, bool, str, date | None]:
    """(accepted day, due date, provisional, level, next change day) of a running case that does NOT change
    level today: as the sweep left it yesterday."""
    for attempt in range(30):
        draw = rng.random()
        elapsed = rng.uniform(0, 1.1) if draw < 0.95 else rng.uniform(1.1, 3.0)
        working = round(elapsed * version.promised_days)
        if attempt >= 20:  # a one- or two-day item is quiet today only once it is overdue
            working = version.promised_days + 2 + _between(rng, 0, 10)
        accepted_day = clock.subtract(clock.today, working)
        due, provisional = clock.add(accepted_day, version.promised_days)
        level, next_on = clock.state(clock.yesterday, due, version.warning_days)
        if next_on is None or next_on > clock.today:
            return accepted_day, due, provisional, level, next_on
    raise RuntimeError(f"no quiet due date for {version}")


def _changing_case(clock: Clock, version: Version, kind: str) -> tuple[date, date, bool, str, date] | None:
    """A running case whose level changes today, as the sweep left it yesterday; None if the item cannot."""
    today, yesterday = clock.today, clock.yesterday
    if kind == "yellow":  # green → yellow: the warning period starts today
        due, provisional = clock.add(today, version.warning_days)
    elif kind == "red":  # yellow → red: due today
        due, provisional = today, False
    else:  # red → overdue: was due yesterday
        due, provisional = yesterday, False
    accepted_day = clock.subtract(due, version.promised_days)
    if accepted_day >= today or clock.add(accepted_day, version.promised_days)[0] != due:
        return None
    level, next_on = clock.state(yesterday, due, version.warning_days)
    now_level, _ = clock.state(today, due, version.warning_days)
    if next_on != today or now_level == level:
        return None
    return accepted_day, due, provisional, level, next_on


def _open_rows(data: CaseData, writer: Writer, clock: Clock, picker: Picker, ids: range, *, changing: int):
    """Open cases: the first `changing` of `ids` change level today (running, in equal parts per kind)."""
    rng = data._rng
    kinds = ["yellow", "red"] + (["overdue"] if clock.calendar.is_working_day(clock.yesterday) else [])
    resets = []
    for index, pk in enumerate(ids):
        if index < changing:
            kind = kinds[index % len(kinds)]
            for _ in range(200):
                version = picker()
                solved = _changing_case(clock, version, kind)
                if solved:
                    break
            else:
                raise RuntimeError(f"no item can change to {kind} today")
            state = "in_review" if rng.random() < 0.7 else "accepted"
            accepted_day, due, provisional, level, next_on = solved
            resets.append((pk, level, next_on))
        else:
            version = picker()
            state = _weighted(rng, OPEN_STATES)
            accepted_day, due, provisional, level, next_on = _running_case(clock, rng, version)
            if state == "suspended":
                next_on = None  # frozen (application_suspend clears it)
        accepted = _stamp(accepted_day, rng)
        submitted = accepted - timedelta(minutes=_between(rng, 5, 60 * 24 * 3))
        created = submitted - timedelta(minutes=_between(rng, 1, 600))
        data.open_by_department[version.department_id] += 1
        yield writer.row(pk, version, state, created=created, submitted=submitted, accepted=accepted, due=due,
                         provisional=provisional, level=level, next_on=next_on)
    data._resets = resets


def _closed_rows(data: CaseData, writer: Writer, clock: Clock, picker: Picker, ids: range):
    rng = data._rng
    for pk in ids:
        version = picker()
        state = _weighted(rng, CLOSED_STATES)
        created_day = clock.today - timedelta(days=_between(rng, 20, 730))
        created = _stamp(created_day, rng, hour=8)
        submitted = created + timedelta(minutes=_between(rng, 1, 600))
        if state == "not_accepted":
            closed = submitted + timedelta(days=_between(rng, 1, 6))
            yield writer.row(pk, version, state, created=created, submitted=submitted, accepted=None, due=None,
                             provisional=False, level="", next_on=None, closed=closed)
            continue
        accepted = submitted + timedelta(minutes=_between(rng, 10, 60 * 24 * 2))
        due, provisional = clock.add(accepted.date(), version.promised_days)
        if state == "withdrawn":
            closed = accepted + timedelta(days=_between(rng, 0, 10))
            yield writer.row(pk, version, state, created=created, submitted=submitted, accepted=accepted, due=due,
                             provisional=provisional, level="", next_on=None, closed=closed)
            continue
        # Delivered: decided on time mostly, a few late; issued the next day; delivered within days.
        span = max(1, (due - accepted.date()).days)
        decided = accepted + timedelta(days=min(span + 3, _between(rng, 0, span + 1) + (rng.random() < 0.04) * 3),
                                       minutes=_between(rng, 0, 240))
        outcome = "approved" if rng.random() < 0.92 else "rejected"
        issued = decided + timedelta(hours=_between(rng, 1, 30))
        delivered = issued + timedelta(hours=_between(rng, 1, 120))
        yield writer.row(pk, version, state, created=created, submitted=submitted, accepted=accepted, due=due,
                         provisional=provisional, level="", next_on=None, decided=decided, closed=delivered,
                         outcome=outcome, issued=issued, delivered=delivered,
                         delivery=rng.choice(["pickup", "mail", "download", "download"]))


def _between(rng: random.Random, low: int, high: int) -> int:
    """rng.randrange(low, high) at a third of its cost: it is called tens of millions of times."""
    return low + int(rng.random() * (high - low))


def _weighted(rng: random.Random, choices) -> str:
    draw = _between(rng, 0, 100)
    for value, weight in choices:
        if draw < weight:
            return value
        draw -= weight
    return choices[-1][0]


def _copy_cases(ctx, data: CaseData, rows, count: int, label: str) -> None:
    import time as clock

    from applications.models import Application
    from bench.lib import copy_rows, with_model_defaults

    started = clock.perf_counter()
    copied = copy_rows(Application._meta.db_table, *with_model_defaults(Application, APPLICATION_COLUMNS, rows))
    assert copied == count, (copied, count)
    seconds = clock.perf_counter() - started
    data.build_seconds[label] = data.build_seconds.get(label, 0) + seconds
    ctx.log(f"cases: COPY {copied:,} {label} in {seconds:.1f} s ({copied / seconds:,.0f} rows/s)")


def _finish(ctx, data: CaseData) -> None:
    """Number sequences, then the planner's statistics and the visibility map."""
    import time as clock

    from django.db import connection

    from applications.models import Application, NumberSequence
    from bench.lib import copy_rows, vacuum_analyze

    started = clock.perf_counter()
    NumberSequence.objects.all().delete()
    copy_rows(NumberSequence._meta.db_table, ("prefix", "day", "last"),
              ((prefix, day, last) for (prefix, day), last in data._numbers.items()))
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('applications_numbersequence', 'id'), "
                       "(SELECT max(id) FROM applications_numbersequence))")
    vacuum_analyze(Application, NumberSequence, "portal_user")
    ctx.log(f"cases: VACUUM (ANALYZE) in {clock.perf_counter() - started:.1f} s")


def _save_resets(data: CaseData) -> None:
    from django.db import connection

    from bench.lib import copy_rows

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_alert_reset "
                       "(id bigint PRIMARY KEY, alert_level varchar(10) NOT NULL, next_alert_on date)")
    copy_rows("bench_alert_reset", ("id", "alert_level", "next_alert_on"), data._resets)
    data.changing += len(data._resets)


def reset_alert_changes(limit: int | None = None) -> int:
    """Put the cases that change level today back as yesterday's sweep left them (between sweep repeats);
    with `limit`, only that many, and the others as today's sweep leaves them (nothing to do today)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE applications_application a SET alert_level = r.alert_level, "
                       "next_alert_on = r.next_alert_on FROM bench_alert_reset r WHERE a.id = r.id")
        count = cursor.rowcount
        if limit is not None:
            cursor.execute("UPDATE applications_application SET next_alert_on = next_alert_on + 1 "
                           "WHERE id IN (SELECT id FROM bench_alert_reset ORDER BY id OFFSET %s)", [limit])
            count -= cursor.rowcount
        return count


def _build_base(ctx, catalogue) -> CaseData:
    """Users, the closed cases, and the open ones up to the first size asked for (at least the changing)."""
    import time as clock

    from django.utils import timezone

    from applications.models import Application
    from bench.lib import bulk_load, reserve_ids

    started = clock.perf_counter()
    data = CaseData(today=timezone.localdate())
    data._rng = random.Random(20261124)
    data.versions = _load_versions(catalogue)
    _build_users(ctx, data, data._rng)
    clock_ = Clock(data.today)
    writer = Writer(data, data._rng)
    changing = ctx.scaled(FULL_CHANGING)
    closed = ctx.scaled(FULL_CLOSED)
    with bulk_load(Application):
        ids = reserve_ids(Application, closed)
        _copy_cases(ctx, data, _closed_rows(data, writer, clock_, Picker(data.versions, data._rng, promised_only=False),
                                            ids), closed, "closed cases")
        data.closed_cases = closed
        ids = reserve_ids(Application, changing)
        _copy_cases(ctx, data, _open_rows(data, writer, clock_, Picker(data.versions, data._rng, promised_only=True),
                                          ids, changing=changing), changing, "open cases changing level today")
        data.open_cases = changing
        index_started = clock.perf_counter()
    data.build_seconds["indexes and constraints"] = clock.perf_counter() - index_started
    _save_resets(data)
    _finish(ctx, data)
    data.build_seconds["users, cases, indexes, vacuum"] = clock.perf_counter() - started
    return data


def _grow(ctx, data: CaseData, open_total: int) -> None:
    """More open cases that do not change level today, up to `open_total`."""
    import time as clock

    from applications.models import Application
    from bench.lib import bulk_load, reserve_ids

    started = clock.perf_counter()
    count = open_total - data.open_cases
    clock_ = Clock(data.today)
    writer = Writer(data, data._rng)
    # Rebuilding every index of the whole table only pays when the load is large against what is there.
    with bulk_load(Application) if count > data.total // 2 else contextlib.nullcontext():
        ids = reserve_ids(Application, count)
        _copy_cases(ctx, data, _open_rows(data, writer, clock_, Picker(data.versions, data._rng, promised_only=True),
                                          ids, changing=0), count, "open cases")
        index_started = clock.perf_counter()
    data.build_seconds["indexes and constraints"] = (data.build_seconds.get("indexes and constraints", 0)
                                                     + clock.perf_counter() - index_started)
    data.open_cases = open_total
    _finish(ctx, data)
    ctx.log(f"cases: {data.open_cases:,} open, {data.closed_cases:,} closed "
            f"({clock.perf_counter() - started:.0f} s to grow)")
