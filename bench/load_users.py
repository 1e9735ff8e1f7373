"""The simulated people of `bench/load.py` (locust users): reps working the board, managers
reading the forecast. What they may touch is decided before the run (`Plan`); what they saw
is counted in `Tally`, which the checks after the run compare with the database.

Who moves what: every rep account (rita, ravi, sam, sara; as many as there are four rep users
for) has a few **hot** deals that all its simulated users move, each from the version its own
last look showed (a stale board, another tab): those moves collide on purpose and the version
guard answers 409 with the current card. The rest of the account's open deals are split into
private **working sets**, one per simulated user, moved by it alone (409 there would be a bug).
Cards nobody moves are the anchors of drops ("dropped under this card"), so a drop never
names a card that has just left the column. A **double drop** sends one move twice at once
(two tabs, one version): at most one of the two may succeed.
"""

from __future__ import annotations

import html
import itertools
import json
import random
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from http.cookiejar import Cookie
from typing import Any
from urllib.parse import urlencode

import gevent
from locust import FastHttpUser, between, task

CARD = re.compile(
    r'<li class="card ([^"]*)" id="deal-\d+" data-deal-id="(\d+)" data-stage-id="(\d+)"'
    r' data-version="(\d+)" data-status="(\w+)"'
)
MORE = re.compile(r'class="more" hx-get="([^"]+)"')
LIVE_VERSION = re.compile(r'data-live-version="(\d+)"')
RNG = random.Random()  # noqa: S311 - what simulated people click, not secrets
# One connection per request, as nginx's proxy_pass talks to gunicorn by default: a kept-alive
# connection gunicorn closes after its `keepalive` (2 s) while the client is reusing it fails
# the request with "connection closed", a race of the transport, not an answer of the app.
CLOSE = {"Connection": "close"}
# Seconds between two actions of a rep and of a manager, by pace (`bench/load.py --pace`):
# "brisk" is people working fast (a rep acts every 2-6 s: a drag, a page, a logged call; the
# open board's live poll adds one request every 3 s); "stress" is no one's pace, to find the
# ceiling.
PACES = {"brisk": ((2.0, 6.0), (5.0, 15.0)), "stress": ((0.5, 1.5), (2.0, 5.0))}
REP_WAIT, MANAGER_WAIT = PACES["brisk"]
# What the dashboard loads by itself after the page (the watchlist and the stage
# probabilities come with it).
PANELS = ("funnel", "accuracy", "reps")


@dataclass
class Account:
    """A demo login, signed in once before the run: its simulated users share the session."""

    username: str
    cookies: list[Cookie]
    csrf: str
    hot: list[int] = field(default_factory=list)
    working_sets: list[list[int]] = field(default_factory=list)


@dataclass
class Plan:
    """What the run works on, filled by `bench/load.py` before the users start."""

    pipeline_id: int
    stage_ids: list[int]  # open stages without required fields: where moves go
    reps: list[Account]
    managers: list[Account]
    deals: dict[int, tuple[int, int]]  # every deal that moves: id -> (stage, version) at start
    rep_numbers: itertools.count[int] = field(default_factory=itertools.count)
    manager_numbers: itertools.count[int] = field(default_factory=itertools.count)


@dataclass
class Tally:
    """What the clients saw."""

    samples: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    conflicts: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    moved: Counter[int] = field(default_factory=Counter)  # deal -> moves seen to succeed
    # When each sample came in (time.monotonic()), and when the last user had started.
    arrived: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    all_running_at: float | None = None

    def on_request(
        self, name: str, response_time: float, response: Any = None, exception: Any = None
    ) -> None:
        self.samples[name].append(response_time)
        self.arrived[name].append(time.monotonic())
        if exception is not None:
            self.fail(name, f"{name}: {exception}")
        elif response is not None and response.status_code == 409:
            self.conflicts[name] += 1

    def steady(self, settle: float) -> dict[str, list[float]]:
        """The samples that came in `settle` seconds or more after every user was running."""
        if self.all_running_at is None:
            return {}
        since = self.all_running_at + settle
        return {
            name: [ms for ms, at in zip(samples, self.arrived[name], strict=True) if at >= since]
            for name, samples in self.samples.items()
        }

    def fail(self, name: str, example: str) -> None:
        self.failures[name] += 1
        if len(self.examples) < 10:
            self.examples.append(example[:300])


PLAN: Plan | None = None
TALLY = Tally()


def plan() -> Plan:
    if PLAN is None:
        raise RuntimeError("bench/load.py sets the plan before the run")
    return PLAN


def cards_in(page: str) -> list[tuple[int, int, int, str, bool]]:
    """(id, stage, version, status, writable) of every card on a page or fragment."""
    return [
        (int(pk), int(stage), int(version), status, "readonly" not in classes.split())
        for classes, pk, stage, version, status in CARD.findall(page)
    ]


class Signed(FastHttpUser):
    """A user of one demo account's session: cookies and CSRF token as the browser has them."""

    abstract = True
    concurrency = 4  # a browser loads the dashboard's panels and a double drop at once
    account: Account

    def use(self, account: Account) -> None:
        self.account = account
        for cookie in account.cookies:
            self.client.cookiejar.set_cookie(cookie)

    def htmx(self, **extra: str) -> dict[str, str]:
        return {**CLOSE, "HX-Request": "true", "X-CSRFToken": self.account.csrf, **extra}

    def get_page(
        self, path: str, name: str, *, ok: tuple[int, ...] = (200,), whole: bool = False
    ) -> Any:
        """GET as htmx does (a fragment), or as the browser loads a `whole` page."""
        headers = CLOSE if whole else self.htmx()
        with self.client.get(path, name=name, headers=headers, catch_response=True) as r:
            if r.status_code in ok:
                r.success()
            else:
                r.failure(f"{r.status_code} {path} {getattr(r, 'error', '')}")
            return r


class Rep(Signed):
    """A rep on the board: opens it, pages columns, follows the live poll, moves deals, logs
    what happened."""

    wait_time = between(*REP_WAIT)

    def on_start(self) -> None:
        number = next(plan().rep_numbers)
        account = plan().reps[number % len(plan().reps)]
        self.use(account)
        sets = account.working_sets
        self.own = sets[(number // len(plan().reps)) % len(sets)] if sets else []
        self.known: dict[int, tuple[int, int]] = {}  # deal -> (stage, version) last seen
        self.anchors: dict[int, list[int]] = {}  # stage -> cards nobody moves, last seen
        self.more: list[str] = []
        self.live_version = 0
        self.open_board()

    def learn(self, page: str) -> None:
        moving = plan().deals
        for pk, stage, version, _status, _writable in cards_in(page):
            if pk in moving:
                self.known[pk] = (stage, version)
            else:
                column = self.anchors.setdefault(stage, [])
                if pk not in column and len(column) < 40:
                    column.append(pk)
        self.more.extend(html.unescape(url) for url in MORE.findall(page))
        del self.more[:-20]

    @task(3)
    def open_board(self) -> None:
        response = self.get_page("/board/", "board", whole=True)
        page = response.text or ""
        self.anchors.clear()
        self.learn(page)
        found = LIVE_VERSION.search(page)
        self.live_version = int(found[1]) if found else self.live_version

    @task(2)
    def show_more(self) -> None:
        if self.more:
            path = self.more.pop(RNG.randrange(len(self.more)))
            self.learn(self.get_page(path, "column page").text or "")
        else:
            self.refresh_column(RNG.choice(plan().stage_ids))

    def refresh_column(self, stage_id: int) -> None:
        path = f"/board/{plan().pipeline_id}/stages/{stage_id}/cards/?refresh=1&limit=30"
        self.learn(self.get_page(path, "column refresh").text or "")

    @task(3)
    def live_poll(self) -> None:
        path = f"/board/{plan().pipeline_id}/live/?v={self.live_version}"
        response = self.get_page(path, "live poll", ok=(200, 204))
        if response.status_code != 200:
            return
        changed = json.loads(response.headers.get("HX-Trigger") or "{}").get("board:changed", {})
        self.live_version = int(changed.get("version", self.live_version))
        columns = changed.get("columns")
        stage_ids = columns if isinstance(columns, list) else plan().stage_ids
        for stage_id in RNG.sample(stage_ids, min(2, len(stage_ids))):
            self.refresh_column(stage_id)

    @task(4)
    def move_own(self) -> None:
        if self.own:
            self.move(RNG.choice(self.own), "move")

    @task(2)
    def move_hot(self) -> None:
        if self.account.hot:
            self.move(RNG.choice(self.account.hot), "move (hot deal)")

    @task(1)
    def double_drop(self) -> None:
        """One move sent twice at once with the same version: never may both succeed."""
        if not self.account.hot:
            return
        deal_id = RNG.choice(self.account.hot)
        self.read_deal(deal_id)
        data = self.drop(deal_id)
        pair = [gevent.spawn(self.post_move, deal_id, data, "move (double drop)") for _ in "ab"]
        gevent.joinall(pair)
        if [g.value for g in pair].count(200) > 1:
            TALLY.fail("move (double drop)", f"deal {deal_id}: both drops of one version won")

    @task(2)
    def log_activity(self) -> None:
        deal_id = RNG.choice(self.own or self.account.hot or [0])
        if not deal_id:
            return
        kind = RNG.choice(["call", "email", "meeting", "note"])
        body = urlencode({"kind": kind, "subject": f"Load test {kind}", "body": "Talked."})
        headers = self.htmx(**{"Content-Type": "application/x-www-form-urlencoded"})
        path = f"/deals/{deal_id}/activities/log/"
        with self.client.post(
            path, data=body, headers=headers, name="log activity", catch_response=True
        ) as r:
            if r.status_code == 200:
                r.success()
            else:
                r.failure(f"{r.status_code} {path}")

    def read_deal(self, deal_id: int) -> None:
        """The deal as its page shows it now (the API's view: stage and version)."""
        response = self.get_page(f"/api/deals/{deal_id}/", "open deal (API)", whole=True)
        if response.status_code == 200:
            deal = json.loads(response.text)
            self.known[deal_id] = (int(deal["stage"]), int(deal["version"]))

    def drop(self, deal_id: int) -> dict[str, Any]:
        """The form of a drop of this deal on another column: on top, or under a quiet card."""
        if deal_id not in self.known:
            self.known[deal_id] = plan().deals[deal_id]
        stage, version = self.known[deal_id]
        target = RNG.choice([s for s in plan().stage_ids if s != stage])
        anchors = self.anchors.get(target) or []
        after = RNG.choice(anchors) if anchors and RNG.random() < 0.5 else ""
        return {"stage": target, "version": version, "after": after}

    def move(self, deal_id: int, name: str) -> None:
        self.post_move(deal_id, self.drop(deal_id), name)

    def post_move(self, deal_id: int, data: dict[str, Any], name: str) -> int:
        """POST the drop as board.js does; 200 (moved) and 409 (stale version) are answers,
        anything else a failure. Returns the status; what the answer's card shows is learnt."""
        headers = self.htmx(
            **{"Content-Type": "application/x-www-form-urlencoded", "Referer": "/board/"}
        )
        path = f"/deals/{deal_id}/move/"
        with self.client.post(
            path, data=urlencode(data), headers=headers, name=name, catch_response=True
        ) as r:
            status = int(r.status_code or 0)
            if status in (200, 409):
                r.success()
            else:
                r.failure(f"{status} {path} {getattr(r, 'error', '')} {(r.text or '')[:200]}")
            card = next((c for c in cards_in(r.text or "") if c[0] == deal_id), None)
        if card is not None:
            self.known[deal_id] = (card[1], card[2])
        if status == 200:
            TALLY.moved[deal_id] += 1
        return status


class Manager(Signed):
    """A manager reading the forecast: the page, then the panels htmx loads after it."""

    wait_time = between(*MANAGER_WAIT)
    fixed_count = 1  # bench/load.py sets it: a fifth of the users

    def on_start(self) -> None:
        number = next(plan().manager_numbers)
        self.use(plan().managers[number % len(plan().managers)])

    @task(4)
    def forecast(self) -> None:
        self.get_page("/forecast/", "forecast page", whole=True)
        panels = [
            gevent.spawn(self.get_page, f"/forecast/panel/{name}/", f"forecast panel: {name}")
            for name in PANELS
        ]
        gevent.joinall(panels)

    @task(1)
    def team_board(self) -> None:
        self.get_page("/board/", "board (manager)", whole=True)
