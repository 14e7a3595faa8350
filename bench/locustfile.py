"""The people who use povertyexit at once, for locust (bench/bench_load.py runs it).

Five kinds of user, weighted roughly as a city's staff is: many village cadres keeping
the registry, fewer town and county officials going through exit cases, a few city
supervisors watching the dashboards, and the sector departments' systems calling the
API. Each virtual user signs in with an account of its own (bench_load.load_accounts
creates them and hands them over in ``BENCH_LOAD_ACCOUNTS``) and waits 1–3 s between
two clicks. Each village cadre has a village of its own and edits only households there,
so two users never edit one household: a 版本冲突 (someone saved in between) is counted
as an error, never expected.

The client plays a browser behind the TLS terminator that a production deployment has:
it sends ``X-Forwarded-Proto: https`` (which deploy/nginx.conf passes on) and returns the
``Secure`` cookies that production sets, over the plain-http loopback connection.

What the run measured goes to ``BENCH_LOAD_REPORT`` (JSON) when it stops: per request
name and in all, exact response times from the moment every user has signed in (the
ramp-up and its logins are left out), errors by kind over the whole run (logins
included), and the sums of the ``Server-Timing`` headers (core/timing.py) — the share
of server time spent in SQL, and the server's own p50/p95 next to the client's.

Run by hand, against a server already running with production settings, after
bench_load.py has written the accounts once::

    BENCH_LOAD_ACCOUNTS=data/bench/load/accounts.json \
        locust -f bench/locustfile.py --host http://127.0.0.1:8000
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import random
import re
import time
from collections import Counter, defaultdict
from html.parser import HTMLParser
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path

import gevent
import psutil
from locust import HttpUser, between, events, task
from locust.exception import CatchResponseError, StopUser

REQUEST_TIMEOUT = 30  # seconds: a page slower than this is an error, not a data point
# The steady state starts when every user has signed in, and lasts this long; then the
# run stops itself (0: until locust's --run-time).
MEASURE_SECONDS = float(os.environ.get("BENCH_LOAD_MEASURE_SECONDS", "0"))
# Common 户主 surnames: what a cadre types into the search box.
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
COLLISION = "该户信息已被"  # households.services.household_update's refusal of a stale edit

HOUSEHOLD_LINK = re.compile(r'href="/households/(\d+)/"')
CASE_LINK = re.compile(r'href="/exits/(\d+)/"')
VILLAGE_PARAM = re.compile(r"[?&](?:amp;)?village=(\d{12})")
PAGE_COUNT = re.compile(r"第 \d+ / (\d+) 页")
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
FORM_ERROR = re.compile(r'class="(?:alert alert-danger|invalid-feedback)[^"]*"[^>]*>(?:<div>)?([^<]+)<')


def _accounts() -> dict[str, list[dict]]:
    path = os.environ.get("BENCH_LOAD_ACCOUNTS")
    return json.loads(Path(path).read_text(encoding="utf-8")) if path else {}


ACCOUNTS = _accounts()
_next_account = defaultdict(itertools.count)


def take_account(role: str) -> dict:
    """The next unused account of ``role``: one virtual user, one account."""
    index = next(_next_account[role])
    pool = ACCOUNTS.get(role, [])
    if index >= len(pool):
        # Sharing an account would make two users edit the same village: refuse.
        raise RuntimeError(f"only {len(pool)} {role} accounts for more users; create more (bench_load.py)")
    return pool[index]


def _return_ok_secure(policy, cookie, request) -> bool:
    """Return ``Secure`` cookies over plain http too: the connection to the proxy is the
    loopback one behind a TLS terminator, where a browser's cookies arrive as sent.

    Set on the class, for this locust process only: requests builds a new cookie jar,
    with a default policy, for every request and every redirect it follows."""
    return True


DefaultCookiePolicy.return_ok_secure = _return_ok_secure


def start(user) -> None:
    """Run ``user.begin()`` (sign in, first look around); whatever happens, this user no
    longer holds up the start of the measurement. A crash is an error of its own."""
    try:
        user.begin()
    except StopUser:
        raise
    except Exception as exc:
        recorder.failures["start", f"user could not start: {exc}"] += 1
        raise StopUser() from exc
    finally:
        recorder.user_ready(user.environment)


# --- reading pages --------------------------------------------------------------------------


class FormValues(HTMLParser):
    """What a browser submits for ``<form id=…>``: enabled inputs with a name, checked
    boxes only, each select's selected options (the first one if none is), textareas."""

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.values: list[tuple[str, str]] = []
        self._select: tuple[str, bool] | None = None  # name, multiple
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
            return
        if not self.inside or "disabled" in a:
            if tag == "option" and self._select is not None:
                self._options.append((a.get("value", ""), False))
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.values.append((name, a.get("value", "on" if kind in ("checkbox", "radio") else "")))
        elif tag == "select" and name:
            self._select, self._options = (name, "multiple" in a), []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select is not None:
            name, multiple = self._select
            chosen = [value for value, selected in self._options if selected]
            if not chosen and not multiple and self._options:
                chosen = [self._options[0][0]]
            self.values += [(name, value) for value in chosen]
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # A browser drops the one newline right after <textarea>.
            self.values.append((self._textarea, "".join(self._text).removeprefix("\n")))
            self._textarea = None


def form_values(html: str, form_id: str) -> list[tuple[str, str]]:
    parser = FormValues(form_id)
    parser.feed(html)
    return parser.values


def page_count(html: str) -> int:
    found = PAGE_COUNT.search(html)
    return int(found.group(1)) if found else 1


# --- the people ------------------------------------------------------------------------------


class Person(HttpUser):
    """Signs in through the login page as a browser does, then clicks around."""

    abstract = True
    wait_time = between(1, 3)
    role = ""

    def on_start(self):
        start(self)

    def begin(self):
        """Sign in and look around once; subclasses add what they read first."""
        self.account = take_account(self.role)
        self.origin = "https://" + self.host.split("://", 1)[1].rstrip("/")
        self.client.headers.update({"X-Forwarded-Proto": "https", "Accept-Language": "zh-CN,zh;q=0.9"})
        self.log_in()

    def get(self, path: str, name: str, **kwargs):
        return self.client.get(path, name=name, timeout=REQUEST_TIMEOUT, **kwargs)

    def post_form(self, path: str, data, name: str, *, referer: str, **kwargs):
        """A form POST as the browser sends it: Origin and Referer are what Django's
        CSRF check compares with the host on https."""
        headers = {"Origin": self.origin, "Referer": self.origin + referer, **kwargs.pop("headers", {})}
        return self.client.post(path, data=data, name=name, headers=headers, timeout=REQUEST_TIMEOUT, **kwargs)

    def log_in(self):
        page = self.get("/accounts/login/", "login page")
        token = CSRF_INPUT.search(page.text)
        form = {
            "username": self.account["username"],
            "password": self.account["password"],
            "csrfmiddlewaretoken": token.group(1) if token else "",
        }
        with self.post_form(
            "/accounts/login/", form, "login", referer="/accounts/login/", allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code not in (0, 302):
                response.failure(f"HTTP {response.status_code}: login refused")
            # 0: no answer at all (reset, timeout); locust reports the exception itself.
        if response.status_code != 302:
            raise StopUser()
        self.get("/", "home")


class VillageCadre(Person):
    """村级录入员: the registry of one village — list, search, open, edit and save."""

    role = "village_cadre"
    weight = 10

    def begin(self):
        super().begin()
        self.household_ids: list[int] = []
        self.pages = 1
        self.list_page(1)

    def list_page(self, number: int):
        response = self.get(f"/households/?page={number}", "households: list")
        if response.ok:
            self.pages = page_count(response.text)
            self.household_ids = sorted(set(self.household_ids) | set(map(int, HOUSEHOLD_LINK.findall(response.text))))

    @task(3)
    def households(self):
        self.list_page(random.randint(1, self.pages))

    @task(2)
    def search(self):
        """The list's filter form, as htmx sends it while typing: POST, then the 303 to
        the list's own URL, answered with the results fragment."""
        page = self.get("/households/", "households: list")
        token = CSRF_INPUT.search(page.text)
        if token is None:
            return
        form = {"csrfmiddlewaretoken": token.group(1), "q": random.choice(SURNAMES), "exit_status": ""}
        self.post_form(
            "/households/",
            form,
            "households: search (htmx)",
            referer="/households/",
            headers={"HX-Request": "true", "HX-Target": "results", "HX-Current-URL": self.origin + "/households/"},
        )

    @task(4)
    def household(self):
        if self.household_ids:
            self.get(f"/households/{random.choice(self.household_ids)}/", "households: detail")

    @task(1)
    def edit(self):
        """Open the edit form and save it with its own values: a full registry write
        (every rule checked, the version raised, a history row)."""
        if not self.household_ids:
            return
        pk = random.choice(self.household_ids)
        page = self.get(f"/households/{pk}/edit/", "households: edit form")
        if not page.ok:
            return
        values = form_values(page.text, "household-form")
        # Some seeded households are marked 失联 or 刑满释放 without the 特殊情况说明 the
        # rules require for it (about 1 in 100): the form refuses them as they are, and
        # a cadre saving one writes the note first. So does this one.
        fields = dict(values)
        if ("lost_contact" in fields or "released_prisoner" in fields) and not fields.get("special_notes", "").strip():
            values = [(k, v) for k, v in values if k != "special_notes"] + [("special_notes", "已入户核实。")]
        with self.post_form(
            f"/households/{pk}/edit/", values, "households: edit (save)", referer=f"/households/{pk}/edit/",
            catch_response=True,
        ) as response:  # fmt: skip
            if response.status_code == 400 and COLLISION in response.text:
                response.failure("HTTP 400: edit collision (版本冲突)")
            elif response.status_code == 400:
                # The first message the page shows, so that the result says which rule.
                found = FORM_ERROR.search(response.text)
                response.failure(f"HTTP 400: edit refused: {found.group(1).strip() if found else '?'}")
            elif response.ok and not response.url.endswith(f"/households/{pk}/"):
                response.failure(f"edit saved to an unexpected page: {response.url}")

    @task(1)
    def cases(self):
        self.get("/exits/", "exits: case list")

    @task(1)
    def home(self):
        self.get("/", "home")


class Official(Person):
    """What town and county officials share: the exit cases of their region."""

    abstract = True

    def begin(self):
        super().begin()
        self.case_ids: list[int] = []
        self.villages: list[str] = []
        self.case_list()

    def case_list(self, query: str = ""):
        response = self.get(f"/exits/{query}", "exits: case list")
        if response.ok:
            found = set(map(int, CASE_LINK.findall(response.text)))
            self.case_ids = sorted(set(self.case_ids) | found)[-200:]
        return response

    def case(self):
        if self.case_ids:
            self.get(f"/exits/{random.choice(self.case_ids)}/", "exits: case detail")

    def notice_list(self):
        query = f"?village={random.choice(self.villages)}" if self.villages and random.random() < 0.7 else ""
        response = self.get(f"/exits/notice-list/{query}", "exits: notice list")
        if response.ok and not query:
            self.villages = sorted(set(VILLAGE_PARAM.findall(response.text)))


class TownOfficial(Official):
    """镇办干部: cross-checks and reviews (steps 3–4) for the town's villages."""

    role = "town_official"
    weight = 3

    @task(3)
    def cases(self):
        self.case_list(f"?page={random.randint(1, 3)}")

    @task(1)
    def cases_at_step(self):
        self.case_list(f"?step={random.choice((3, 4))}")

    @task(3)
    def case_detail(self):
        self.case()

    @task(1)
    def approvals(self):
        self.get("/exits/approvals/", "exits: approval queue")

    @task(1)
    def notices(self):
        self.notice_list()

    @task(1)
    def households(self):
        self.get("/households/", "households: list")

    @task(1)
    def home(self):
        self.get("/", "home")


class CountyOfficial(Official):
    """县级审批: approves (step 6), closes the notice, watches the county's deadlines."""

    role = "county_official"
    weight = 2

    @task(2)
    def cases(self):
        self.case_list(f"?page={random.randint(1, 5)}")

    @task(3)
    def case_detail(self):
        self.case()

    @task(2)
    def approvals(self):
        self.get("/exits/approvals/", "exits: approval queue")

    @task(1)
    def notices(self):
        self.notice_list()

    @task(1)
    def deadlines(self):
        self.get("/dashboard/deadlines/", "dashboard: deadlines")

    @task(1)
    def home(self):
        self.get("/", "home")


class Supervisor(Person):
    """市级督查: the whole city, read-only — home, dashboards, drilling into a county."""

    role = "city_supervisor"
    weight = 1
    counties = [f"6109{n:02d}000000" for n in (2, 21, 22, 23, 24, 25, 26, 27, 28, 29)]

    @task(2)
    def home(self):
        self.get("/", "home")

    @task(2)
    def deadlines(self):
        self.get("/dashboard/deadlines/", "dashboard: deadlines")

    @task(1)
    def deadlines_county(self):
        self.get(f"/dashboard/deadlines/?region={random.choice(self.counties)}", "dashboard: deadlines (county)")

    @task(2)
    def monitoring(self):
        self.get("/dashboard/monitoring/", "dashboard: monitoring")

    @task(1)
    def cases(self):
        self.get("/exits/", "exits: case list")

    @task(1)
    def monitoring_cases(self):
        self.get("/monitoring/", "monitoring: case list")


class ApiClient(HttpUser):
    """A sector department's system on the API: a token once, then pages of households
    and exit cases of its county, and a record now and then."""

    role = "api_client"
    weight = 2
    wait_time = between(1, 3)

    def on_start(self):
        start(self)

    def begin(self):
        self.account = take_account(self.role)
        self.client.headers.update({"X-Forwarded-Proto": "https", "Accept": "application/json"})
        with self.client.post(
            "/api/v1/auth/token/",
            json={"username": self.account["username"], "password": self.account["password"]},
            name="api: token",
            timeout=REQUEST_TIMEOUT,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: token refused")
                raise StopUser()
            self.client.headers["Authorization"] = f"Token {response.json()['token']}"
        self.household_ids: list[int] = []
        self.case_ids: list[int] = []

    def on_stop(self):
        # Revoke the token: a user may hold only POVERTYEXIT_API_TOKENS_PER_USER of them.
        if "Authorization" in self.client.headers:
            self.client.post("/api/v1/auth/logout/", name="api: logout", timeout=REQUEST_TIMEOUT)

    def get(self, path: str, name: str):
        return self.client.get(path, name=name, timeout=REQUEST_TIMEOUT)

    @task(3)
    def households(self):
        status = random.choice(("not_exited", "exited"))
        response = self.get(f"/api/v1/households/?exit_status={status}&page={random.randint(1, 20)}", "api: households")
        if response.ok:
            self.household_ids = [row["id"] for row in response.json()["results"]] or self.household_ids

    @task(2)
    def household(self):
        if self.household_ids:
            self.get(f"/api/v1/households/{random.choice(self.household_ids)}/", "api: household")

    @task(2)
    def cases(self):
        response = self.get(f"/api/v1/exit-cases/?page={random.randint(1, 5)}", "api: exit cases")
        if response.ok:
            self.case_ids = [row["id"] for row in response.json()["results"]] or self.case_ids

    @task(1)
    def case(self):
        if self.case_ids:
            self.get(f"/api/v1/exit-cases/{random.choice(self.case_ids)}/", "api: exit case")


# --- what the run measured -------------------------------------------------------------------

SERVER_TIMING = re.compile(r"\b(db|app);dur=([\d.]+)")


def percentile(sorted_values: list[float], share: float) -> float | None:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return None
    return sorted_values[max(0, math.ceil(share * len(sorted_values)) - 1)]


class CpuClock:
    """CPU seconds used by each part of the stack and by the whole machine, so that a
    result says how much of the 2 cores the app had. The parts are named process trees
    (``BENCH_LOAD_CPU_PIDS``: ``gunicorn=123,nginx=456,postgres=789``) and this locust
    process. PostgreSQL's tree is the whole server: other databases' work counts too."""

    def __init__(self):
        spec = os.environ.get("BENCH_LOAD_CPU_PIDS", "")
        self.parts = {name: int(pid) for name, pid in (item.split("=") for item in spec.split(",") if item)}
        self.parts["locust"] = os.getpid()

    @staticmethod
    def _tree(pid: int) -> float:
        """A process tree's CPU seconds: the root's own, those of its children that have
        ended (a recycled gunicorn worker, a closed PostgreSQL backend: counted in the
        root once reaped), and those of its living descendants."""
        try:
            root = psutil.Process(pid)
            times = root.cpu_times()
            total = times.user + times.system + times.children_user + times.children_system
            descendants = root.children(recursive=True)
        except psutil.NoSuchProcess:
            return 0.0
        for process in descendants:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                total += times.user + times.system
        return total

    def sample(self) -> dict[str, float]:
        used = {name: self._tree(pid) for name, pid in self.parts.items()}
        machine = psutil.cpu_times()
        used["machine"] = (
            machine.user
            + machine.nice
            + machine.system
            + getattr(machine, "irq", 0.0)
            + getattr(machine, "softirq", 0.0)
        )
        used["wall"] = time.monotonic()
        return used


class Recorder:
    """Collects every request. The steady state starts when every user has signed in
    and ends at the stop (test_stopping); errors count over the whole run."""

    def __init__(self):
        self.window: list[float | None] = [None, None]
        self.ready = 0
        self.times: dict[str, list[float]] = defaultdict(list)
        self.failures: Counter = Counter()  # (name, kind) over the whole run
        self.server_db: dict[str, float] = defaultdict(float)
        self.server_app: dict[str, float] = defaultdict(float)
        self.server_app_each: list[float] = []
        self.untimed = 0  # measured responses without a Server-Timing header
        self.cpu = CpuClock()
        self.cpu_samples: list[dict[str, float]] = []

    @property
    def measuring(self) -> bool:
        started, stopped = self.window
        return started is not None and stopped is None

    def user_ready(self, environment):
        self.ready += 1
        runner = environment.runner
        if self.window[0] is None and runner is not None and self.ready >= runner.target_user_count:
            self.window[0] = time.time()
            self.cpu_samples = [self.cpu.sample()]
            if MEASURE_SECONDS:
                gevent.spawn_later(MEASURE_SECONDS, runner.quit)

    def stop(self):
        if self.measuring:
            self.window[1] = time.time()
            self.cpu_samples.append(self.cpu.sample())

    def on_request(self, request_type, name, response_time, response_length, response=None, exception=None, **kw):
        if exception is not None:
            self.failures[name, error_kind(exception, response)] += 1
        if not self.measuring:
            return
        self.times[name].append(response_time)
        timed = False
        # A followed redirect (the search's POST → 303 → GET) has a header on each hop.
        for hop in [*getattr(response, "history", []), response] if response is not None else []:
            header = hop.headers.get("Server-Timing", "") if hop.headers else ""
            parts = dict(SERVER_TIMING.findall(header))
            if "app" in parts:
                timed = True
                self.server_db[name] += float(parts.get("db", 0))
                self.server_app[name] += float(parts["app"])
                self.server_app_each.append(float(parts["app"]))
        self.untimed += not timed

    def cores_used(self) -> dict[str, float]:
        """Average cores each part kept busy over the steady state."""
        if len(self.cpu_samples) != 2:
            return {}
        before, after = self.cpu_samples
        seconds = after["wall"] - before["wall"]
        used = {name: round((after[name] - before[name]) / seconds, 2) for name in after if name != "wall"}
        used["load_average_1m"] = round(os.getloadavg()[0], 2)
        return used

    def report(self, users: int) -> dict:
        started, stopped = self.window
        seconds = (stopped or time.time()) - started if started else 0.0

        def summary(values: list[float]) -> dict:
            ordered = sorted(values)
            return {
                "requests": len(ordered),
                "p50_ms": percentile(ordered, 0.50),
                "p95_ms": percentile(ordered, 0.95),
                "p99_ms": percentile(ordered, 0.99),
                "max_ms": ordered[-1] if ordered else None,
            }

        pages = {}
        for name, values in sorted(self.times.items()):
            pages[name] = summary(values)
            pages[name]["failures"] = sum(n for (page, _kind), n in self.failures.items() if page == name)
            app = self.server_app.get(name, 0.0)
            pages[name]["sql_share"] = round(self.server_db[name] / app, 3) if app else None
        everything = summary([t for values in self.times.values() for t in values])
        app_total, db_total = sum(self.server_app.values()), sum(self.server_db.values())
        server = sorted(self.server_app_each)
        errors: Counter = Counter()
        for (_name, kind), n in self.failures.items():
            errors[kind] += n
        return {
            "users": users,
            "users_signed_in": self.ready,
            "measured_seconds": round(seconds, 1),
            "throughput_rps": round(everything["requests"] / seconds, 2) if seconds else 0.0,
            **everything,
            "errors": sum(errors.values()),
            "errors_by_kind": dict(errors.most_common()),
            "errors_by_page": {f"{name}: {kind}": n for (name, kind), n in self.failures.most_common()},
            "sql_share": round(db_total / app_total, 3) if app_total else None,
            "server_p50_ms": percentile(server, 0.50),
            "server_p95_ms": percentile(server, 0.95),
            "responses_without_server_timing": self.untimed,
            "cpu_cores_used": self.cores_used(),
            "pages": pages,
        }


def error_kind(exception, response) -> str:
    """One short label per kind of failure: our own words for a checked page, else the
    HTTP status, else the exception (a reset or refused connection, a timeout)."""
    if isinstance(exception, CatchResponseError):
        return str(exception)
    status = getattr(response, "status_code", 0) or 0
    if status:
        return f"HTTP {status}"
    return f"{type(exception).__name__}: {str(exception)[:120]}"


recorder = Recorder()
events.request.add_listener(recorder.on_request)


@events.test_stopping.add_listener
def _end_window(environment, **kwargs):
    recorder.stop()


@events.test_stop.add_listener
def _write_report(environment, **kwargs):
    path = os.environ.get("BENCH_LOAD_REPORT")
    if path:
        users = environment.runner.target_user_count if environment.runner else 0
        Path(path).write_text(json.dumps(recorder.report(users), ensure_ascii=False, indent=2), encoding="utf-8")
