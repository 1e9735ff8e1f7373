"""The development processes of the Procfile (web, worker, beat), run together for `make run`.

`manage.py rundev` calls `run()`: each Procfile line starts in a session of its own, its output
comes through here prefixed with its name, and once the web process answers `/healthz` (and the
start-up messages have settled) the banner is printed, last, where a newcomer sees it. Ctrl-C,
SIGTERM or SIGHUP stop every process the way it stops cleanly (SIGTERM to the process itself, so
Celery's worker shuts its pool down before it leaves), then the run exits 0. A process that ends
on its own stops the others and the run exits 1.

Why the terminal's foreground is taken: Ctrl-C is sent to the terminal's whole foreground
process group, which is `make` too. Make would then report `Error 130` and die of the signal
whatever its recipe does. So the runner moves into a process group of its own and makes it the
terminal's foreground while it runs (what a shell does for a job), and gives the terminal back
before it exits: Ctrl-C reaches only the runner, which stops the processes, and make sees a
recipe that succeeded.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STOP_GRACE_SECONDS = 20.0  # Celery's warm shutdown takes a few seconds on a busy machine
SETTLE_SECONDS = 1.0  # the banner waits for this much silence after the web answers...
SETTLE_MAX_SECONDS = 8.0  # ...but no longer than this
POLL_SECONDS = 0.25


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    command: str


def read_procfile(path: Path) -> list[ProcessSpec]:
    """`name: command` lines; blank lines and `#` comments are skipped."""
    specs = []
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", line.strip())
        if match:
            specs.append(ProcessSpec(match[1], match[2]))
    return specs


def answers(url: str) -> bool:
    """Whether `url` answers 200 within two seconds."""
    try:
        # A URL this module builds itself: http on the loopback interface.
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


@contextlib.contextmanager
def terminal_foreground() -> Iterator[None]:
    """Make this process's own group the terminal's foreground while it runs (module docstring).

    Nothing happens without a controlling terminal, or when this process is not in the
    foreground (started with `&`)."""
    try:
        tty = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        yield
        return
    try:
        previous = os.getpgrp()
        if os.tcgetpgrp(tty) != previous or os.getpid() == os.getsid(0):
            yield
            return
        os.setpgid(0, 0)
        _set_terminal_group(tty, os.getpgrp())
        try:
            yield
        finally:
            _set_terminal_group(tty, previous)
    finally:
        os.close(tty)


def _set_terminal_group(tty: int, group: int) -> None:
    # A process outside the foreground group that changes it gets SIGTTOU unless it ignores it.
    handler = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        os.tcsetpgrp(tty, group)
    finally:
        signal.signal(signal.SIGTTOU, handler)


@dataclass
class Runner:
    """The processes of one run, their output, and how the run stops."""

    specs: list[ProcessSpec]
    env: Mapping[str, str]
    health_url: str
    banner: str
    out: IO[str] = field(default_factory=lambda: sys.stdout)
    cwd: Path | None = None
    stop_requested: threading.Event = field(default_factory=threading.Event)
    _hurry: threading.Event = field(default_factory=threading.Event)
    _processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _readers: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _last_output: float = field(default_factory=time.monotonic)

    def run(self) -> int:
        """Start, print the banner once ready, wait for a stop; 0 when asked to stop."""
        previous = {sig: signal.signal(sig, self.request_stop) for sig in STOP_SIGNALS}
        try:
            self._start_all()
            if self._wait_until_ready():
                self._settle()
                self.say(f"\n{self.banner}\n")
            ended = self._wait_for_stop()
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if ended is not None:
            self.say(f"{ended} stopped on its own, so the others were stopped too.")
            return 1
        self.say("Stopped.")
        return 0

    def say(self, text: str) -> None:
        with self._lock:
            self.out.write(text + "\n")
            self.out.flush()

    def request_stop(self, signum: int, frame: Any) -> None:
        if self.stop_requested.is_set():
            self._hurry.set()  # a second Ctrl-C: no more waiting for a clean stop
        self.stop_requested.set()

    def _start_all(self) -> None:
        width = max(len(spec.name) for spec in self.specs)
        for spec in self.specs:
            # `exec`: the signal reaches the program, not a shell waiting for it.
            process = subprocess.Popen(  # noqa: S603 - the commands of our own Procfile
                ["/bin/sh", "-c", f"exec {spec.command}"],
                cwd=self.cwd,
                env=dict(self.env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the runner only; it stops each in turn
            )
            self._processes[spec.name] = process
            reader = threading.Thread(
                target=self._relay, args=(spec.name.ljust(width), process), daemon=True
            )
            reader.start()
            self._readers.append(reader)

    def _relay(self, prefix: str, process: subprocess.Popen[bytes]) -> None:
        if process.stdout is None:
            return
        for raw in iter(process.stdout.readline, b""):
            self._last_output = time.monotonic()
            self.say(f"{prefix} | {raw.decode('utf-8', 'replace').rstrip()}")

    def _ended(self) -> str | None:
        return next((name for name, p in self._processes.items() if p.poll() is not None), None)

    def _wait_until_ready(self) -> bool:
        while not self.stop_requested.is_set() and self._ended() is None:
            if answers(self.health_url):
                return True
            self.stop_requested.wait(POLL_SECONDS)
        return False

    def _settle(self) -> None:
        """Let the other processes finish their start-up messages, so the banner comes last."""
        deadline = time.monotonic() + SETTLE_MAX_SECONDS
        while time.monotonic() < deadline and not self.stop_requested.is_set():
            if time.monotonic() - self._last_output >= SETTLE_SECONDS:
                return
            self.stop_requested.wait(POLL_SECONDS)

    def _wait_for_stop(self) -> str | None:
        """None once a stop is asked for; else the name of a process that ended by itself."""
        while not self.stop_requested.is_set():
            ended = self._ended()
            if ended is not None:
                return ended
            self.stop_requested.wait(POLL_SECONDS)
        return None

    def _stop_all(self) -> None:
        running = [p for p in self._processes.values() if p.poll() is None]
        if running:
            self.say("Stopping… (Ctrl-C again to kill the processes at once)")
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while any(p.poll() is None for p in running) and time.monotonic() < deadline:
            if self._hurry.wait(POLL_SECONDS):
                break
        for process in running:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for reader in self._readers:
            reader.join(timeout=2)


def run(
    *,
    procfile: Path,
    port: int,
    banner_for: Callable[[str], str],
) -> int:
    """Run the Procfile's processes on `port` (RUN_PORT) until stopped; the exit code."""
    url = f"http://127.0.0.1:{port}/"
    env = dict(os.environ)
    # The venv's tools first, however this command was started.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(
        RUN_PORT=str(port),
        PYTHONUNBUFFERED="1",  # lines as they happen, not when a buffer fills
        DJANGO_RUNSERVER_HIDE_WARNING="true",  # the banner says what this server is for
    )
    env.setdefault("SITE_URL", url.rstrip("/"))  # links in e-mails lead to this server
    runner = Runner(
        specs=read_procfile(procfile),
        env=env,
        health_url=f"{url}healthz",
        banner=banner_for(url),
        cwd=procfile.parent,
    )
    with terminal_foreground():
        return runner.run()
