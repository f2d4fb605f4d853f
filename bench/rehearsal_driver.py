"""The rehearsal's load driver (bench/cases/rehearsal.py): threads in the benchmark process sending mixed traffic
through HAProxy — catalogue reads, work-list reads and case transitions by the HTTP API with tokens.

A request is retried only when it failed in flight: the connection broke (reset, closed, timed out) or HAProxy
answered 502/503/504 for a host that died under it. A retried transition that is then refused with 409 may
have been applied by the attempt whose answer was lost: the case's state says so, and it is counted once.
"""

from __future__ import annotations

import http.client
import json
import queue
import re
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

IN_FLIGHT_STATUSES = (502, 503, 504)
MAX_ATTEMPTS = 20
RETRY_PAUSE = 0.2
TIMEOUT = 30
OPINION = "材料齐全，符合法定条件，准予许可。"

# action → (who, JSON body, the case as it must read once the action applied)
STEPS = (
    ("accept", "clerk", None, lambda case: case["state"] == "accepted"),
    ("claim", "reviewer", None, lambda case: case["state"] == "in_review"),
    ("approve", "reviewer", {"opinion": OPINION}, lambda case: case["state"] == "approved"),
    ("issue", "custodian", None, lambda case: case["state"] == "issued" or bool(case.get("issuing"))),
)


def catalogue_paths(item_code: str) -> list[str]:
    return ["/api/v1/items/", "/api/v1/items/?" + urlencode({"search": "营业执照"}), f"/api/v1/items/{item_code}/",
            "/api/v1/departments/", "/guide/?" + urlencode({"q": "食品"}), f"/guide/{quote(item_code)}/",
            "/api/v1/items/?" + urlencode({"search": "公积金 提取"})]


WORKLIST_PAGES = ["/review/", "/review/?alert=overdue", "/review/?mine=on"]
WORKLIST_API = ["/api/v1/applications/?state=accepted", "/api/v1/applications/"]


@dataclass
class Tally:
    """What the driver saw, shared by its threads (under `lock`)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: int = 0  # HTTP requests, retries included
    answered: Counter = field(default_factory=Counter)  # by kind: catalogue, worklist, transition, check
    in_flight: Counter = field(default_factory=Counter)  # failed in flight, by how: "502", "reset", …
    retried: int = 0
    unexpected: list = field(default_factory=list)  # anything else: a failure of the rehearsal
    attempted: int = 0  # transitions the driver set out to make
    applied: int = 0  # answered 2xx
    recognised: int = 0  # answered 409 after an in-flight failure, the case showing the first attempt applied
    cases_done: int = 0
    first: float = 0.0
    transitions_end: float = 0.0  # when the last case was through
    last: float = 0.0

    def add(self, **counts) -> None:
        with self.lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


class Client:
    """One keep-alive connection to HAProxy per thread; a broken one is replaced."""

    def __init__(self, address: tuple[str, int], tally: Tally):
        self.address, self.tally = address, tally
        self.connection: http.client.HTTPConnection | None = None
        self.cookies: dict[str, str] = {}

    def _once(self, method: str, path: str, body: bytes | None, headers: dict) -> tuple[int, bytes, list]:
        if self.connection is None:
            self.connection = http.client.HTTPConnection(*self.address, timeout=TIMEOUT)
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        except BaseException:
            self.connection.close()
            self.connection = None
            raise
        if response.getheader("Connection", "").lower() == "close":
            self.connection.close()
            self.connection = None
        return response.status, data, response.getheaders()

    def request(self, method: str, path: str, *, kind: str, token: str = "", data: dict | None = None,
                form: dict | None = None, session: bool = False) -> tuple[int, bytes, bool]:
        """(status, body, whether an attempt failed in flight). Retries only in-flight failures."""
        headers = {"Host": "rehearsal.local", "Accept": "application/json"}
        body = None
        if token:
            headers["Authorization"] = f"Token {token}"
        if data is not None:
            body, headers["Content-Type"] = json.dumps(data).encode(), "application/json"
        if form is not None:
            body, headers["Content-Type"] = urlencode(form).encode(), "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://rehearsal.local{path}"
        failed = False
        for attempt in range(1, MAX_ATTEMPTS + 1):
            if session and self.cookies:
                headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
            self.tally.add(sent=1)
            try:
                status, content, response_headers = self._once(method, path, body, headers)
            except (OSError, http.client.HTTPException) as error:
                how = ("timeout" if isinstance(error, socket.timeout) else
                       "reset" if isinstance(error, (ConnectionError, http.client.RemoteDisconnected)) else type(error).__name__)
                self._in_flight(how)
                failed = True
                time.sleep(RETRY_PAUSE)
                continue
            if status in IN_FLIGHT_STATUSES:
                self._in_flight(str(status))
                failed = True
                time.sleep(RETRY_PAUSE)
                continue
            if session:
                for name, value in response_headers:
                    if name.lower() == "set-cookie":
                        cookie, _, rest = value.partition("=")
                        self.cookies[cookie.strip()] = rest.split(";", 1)[0]
            with self.tally.lock:
                self.tally.answered[kind] += 1
            return status, content, failed
        raise RuntimeError(f"{method} {path}: no answer after {MAX_ATTEMPTS} attempts")

    def _in_flight(self, how: str) -> None:
        with self.tally.lock:
            self.tally.in_flight[how] += 1
            self.tally.retried += 1

    def unexpected(self, what: str, status: int, content: bytes) -> None:
        with self.tally.lock:
            self.tally.unexpected.append(f"{what}: HTTP {status} {content[:200].decode(errors='replace')}")


def obtain_token(client: Client, username: str, password: str) -> str:
    status, content, _ = client.request("POST", "/api/v1/auth/token/", kind="login",
                                        data={"username": username, "password": password})
    if status != 200:
        raise RuntimeError(f"token for {username}: HTTP {status} {content[:300]!r}")
    return json.loads(content)["token"]


def login(client: Client, username: str, password: str) -> None:
    """Sign in through the login page, as a browser does; the session cookie then rides on every page."""
    status, content, _ = client.request("GET", "/accounts/login/", kind="login", session=True)
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', content)
    if status != 200 or not match:
        raise RuntimeError(f"login page: HTTP {status}")
    status, content, _ = client.request("POST", "/accounts/login/", kind="login", session=True, form={
        "csrfmiddlewaretoken": match.group(1).decode(), "username": username, "password": password})
    if status != 302 or "sessionid" not in client.cookies:
        raise RuntimeError(f"login as {username}: HTTP {status} {content[:300]!r}")


def drive_case(client: Client, number: str, tokens: dict[str, str]) -> None:
    """accept → claim → approve → issue, each step once, in order; every outcome tallied."""
    tally = client.tally
    for action, who, body, applied in STEPS:
        tally.add(attempted=1)
        path = f"/api/v1/applications/{number}/{action}/"
        status, content, failed = client.request("POST", path, kind="transition", token=tokens[who], data=body or {})
        if status in (200, 201, 202):
            tally.add(applied=1)
            continue
        if status == 409 and failed:
            status, detail, _ = client.request("GET", f"/api/v1/applications/{number}/", kind="check",
                                               token=tokens[who])
            if status == 200 and applied(json.loads(detail)):
                tally.add(recognised=1)
                continue
        client.unexpected(f"{action} {number}", status, content)
        return  # the case cannot go on; the checks will show it
    tally.add(cases_done=1)


class Driver:
    """`transition_threads` threads take cases off a queue and drive each through its four steps;
    `reader_threads` threads read the catalogue and the work lists until the cases are done."""

    def __init__(self, address: tuple[str, int], *, numbers: list[str], users: dict, password: str, item_code: str,
                 transition_threads: int = 4, reader_threads: int = 2, deadline: float = 150):
        self.address, self.numbers, self.users, self.password = address, numbers, users, password
        self.catalogue = catalogue_paths(item_code)
        self.transition_threads, self.reader_threads = transition_threads, reader_threads
        self.deadline = deadline
        self.tally = Tally()
        self.cases: queue.Queue = queue.Queue()
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.tokens: dict[str, str] = {}

    def prepare(self) -> None:
        client = Client(self.address, self.tally)
        for role in ("clerk", "reviewer", "custodian"):
            self.tokens[role] = obtain_token(client, self.users[role], self.password)

    def _guard(self, work):
        def run():
            try:
                work()
            except BaseException as error:  # noqa: BLE001 - reported after the run
                self.errors.append(error)
        return run

    def _transitions(self) -> None:
        client = Client(self.address, self.tally)
        while not self.stop.is_set():
            try:
                number = self.cases.get_nowait()
            except queue.Empty:
                return
            drive_case(client, number, self.tokens)

    def _reads(self, index: int) -> None:
        client = Client(self.address, self.tally)
        reviewer = Client(self.address, self.tally)
        login(reviewer, self.users["reviewer"], self.password)
        turn = index
        while not self.stop.is_set():
            turn += 1
            if turn % 2:
                path = self.catalogue[turn // 2 % len(self.catalogue)]
                status, content, _ = client.request("GET", path, kind="catalogue")
            elif turn % 4 == 0:
                path = WORKLIST_PAGES[turn // 4 % len(WORKLIST_PAGES)]
                status, content, _ = reviewer.request("GET", path, kind="worklist", session=True)
            else:
                path = WORKLIST_API[turn // 4 % len(WORKLIST_API)]
                status, content, _ = client.request("GET", path, kind="worklist", token=self.tokens["reviewer"])
            if status != 200:
                client.unexpected(f"GET {path}", status, content)

    def run(self, *, during=None) -> Tally:
        """Drive every case; `during(tally)` runs in its own thread meanwhile (the kill and the restart)."""
        for number in self.numbers:
            self.cases.put(number)
        workers = [threading.Thread(target=self._guard(self._transitions), name=f"transitions-{index}")
                   for index in range(self.transition_threads)]
        readers = [threading.Thread(target=self._guard(lambda index=index: self._reads(index)), name=f"reads-{index}")
                   for index in range(self.reader_threads)]
        chaos = threading.Thread(target=self._guard(lambda: during(self.tally)), name="chaos") if during else None
        self.tally.first = time.monotonic()
        for thread in [*workers, *readers, *([chaos] if chaos else [])]:
            thread.start()
        ends = time.monotonic() + self.deadline
        for thread in workers:
            thread.join(timeout=max(0.0, ends - time.monotonic()))
        self.tally.transitions_end = time.monotonic()
        if chaos is not None:
            chaos.join(timeout=60)
        self.stop.set()
        for thread in [*workers, *readers]:
            thread.join(timeout=TIMEOUT + 5)
        self.tally.last = time.monotonic()
        return self.tally
