"""`make run` for a newcomer: one banner with the address and the demo logins once the server
answers, a Ctrl-C that ends it all with exit 0, readable e-mails on the console, a site icon."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path

import pytest
from celery.exceptions import SecurityWarning
from celery.signals import celeryd_init
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.management import call_command
from kombu import Connection

from demo.demo_data import DEMO_PASSWORD, DEMO_USERNAMES
from demo.logins import ready_banner
from pipeline_crm import console_mail, devrun

BASE_DIR = Path(settings.BASE_DIR)
BANNER_END = "Ctrl-C stops"

# A web process that answers only after a while, as runserver does, and a process that keeps
# printing its start-up messages after that: the banner must come after both.
FAKE_WEB = """
    import http.server, os, pathlib, time
    pathlib.Path(__file__).with_suffix(".pid").write_text(str(os.getpid()))
    print("fake web starting", flush=True)
    time.sleep(0.5)
    class Answer(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
        def log_message(self, *args):
            pass
    server = http.server.HTTPServer(("127.0.0.1", int(os.environ["RUN_PORT"])), Answer)
    print("fake web listening", flush=True)
    server.serve_forever()
"""
FAKE_NOISE = """
    import os, pathlib, time
    pathlib.Path(__file__).with_suffix(".pid").write_text(str(os.getpid()))
    time.sleep(0.6)
    for n in range(6):
        print(f"start-up noise {n}", flush=True)
        time.sleep(0.15)
    time.sleep(600)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fake_procfile(tmp_path: Path, **scripts: str) -> Path:
    lines = []
    for name, script in scripts.items():
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(script))
        lines.append(f"{name}: {sys.executable} {tmp_path / name}.py")
    procfile = tmp_path / "Procfile"
    procfile.write_text("\n".join(lines) + "\n")
    return procfile


def runner_for(procfile: Path, port: int, out: io.StringIO) -> devrun.Runner:
    url = f"http://127.0.0.1:{port}/"
    return devrun.Runner(
        specs=devrun.read_procfile(procfile),
        env={**os.environ, "RUN_PORT": str(port), "PYTHONUNBUFFERED": "1"},
        health_url=f"{url}healthz",
        banner=ready_banner(url),
        out=out,
    )


def stop_when(runner: devrun.Runner, out: io.StringIO, text: str) -> threading.Thread:
    """Ask the runner to stop (as Ctrl-C does) once `text` was printed."""

    def watch() -> None:
        deadline = time.monotonic() + 20
        while text not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.05)
        runner.stop_requested.set()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_the_banner_with_the_demo_logins_comes_once_the_server_answers_after_the_noise(tmp_path):
    port = free_port()
    out = io.StringIO()
    runner = runner_for(fake_procfile(tmp_path, web=FAKE_WEB, noise=FAKE_NOISE), port, out)
    stop_when(runner, out, BANNER_END)

    assert runner.run() == 0

    text = out.getvalue()
    banner_at = text.index("Pipeline CRM is ready")
    assert text.index("fake web listening") < banner_at
    assert text.index("start-up noise 5") < banner_at
    assert text.count("Pipeline CRM is ready") == 1
    banner = text[banner_at:]
    assert f"http://127.0.0.1:{port}/accounts/login/" in banner
    assert DEMO_PASSWORD in banner
    for username in DEMO_USERNAMES:
        assert re.search(rf"^  {username} ", banner, re.MULTILINE), username
    assert text.rstrip().endswith("Stopped.")


def test_a_process_that_ends_on_its_own_stops_the_others_and_the_run_fails(tmp_path):
    out = io.StringIO()
    procfile = fake_procfile(
        tmp_path, web=FAKE_WEB, broken="import sys; print('cannot start'); sys.exit(3)"
    )

    assert runner_for(procfile, free_port(), out).run() == 1

    assert "broken stopped on its own" in out.getvalue()
    assert "Pipeline CRM is ready" not in out.getvalue()


def test_a_second_ctrl_c_kills_a_process_that_takes_its_time_to_stop(tmp_path):
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
    out = io.StringIO()
    runner = runner_for(fake_procfile(tmp_path, web=FAKE_WEB, stubborn=stubborn), free_port(), out)

    def press_ctrl_c_twice() -> None:
        for text in (BANNER_END, "Stopping"):
            while text not in out.getvalue():
                time.sleep(0.05)
            runner.request_stop(signal.SIGINT, None)

    threading.Thread(target=press_ctrl_c_twice, daemon=True).start()
    started = time.monotonic()

    assert runner.run() == 0
    assert time.monotonic() - started < devrun.STOP_GRACE_SECONDS / 2


def run_in_terminal(command: list[str], cwd: Path, *, interrupt_after: str) -> tuple[int, str]:
    """Run `command` on a pseudo-terminal, press Ctrl-C once `interrupt_after` shows."""
    pid, terminal = pty.fork()
    if pid == 0:  # the child: the command, with the pseudo-terminal as its controlling terminal
        os.chdir(cwd)
        os.execvp(command[0], command)  # noqa: S606 - the test's own command
    output = b""
    interrupted = False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not interrupted and interrupt_after.encode() in output:
            os.write(terminal, b"\x03")
            interrupted = True
        if select.select([terminal], [], [], 0.1)[0]:
            try:
                chunk = os.read(terminal, 4096)
            except OSError:  # the command ended and closed the terminal
                break
            if not chunk:
                break
            output += chunk
    else:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(terminal)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


@pytest.mark.skipif(not shutil.which("make"), reason="needs make")
def test_ctrl_c_in_the_terminal_stops_everything_and_make_exits_0(tmp_path):
    procfile = fake_procfile(tmp_path, web=FAKE_WEB, noise=FAKE_NOISE)
    (tmp_path / "Makefile").write_text(
        f"run:\n\t{sys.executable} {BASE_DIR / 'manage.py'} rundev "
        f"--procfile {procfile} --port {free_port()}\n"
    )

    code, output = run_in_terminal(["make", "run"], tmp_path, interrupt_after=BANNER_END)

    assert code == 0, output
    assert "Stopped." in output
    assert "Error" not in output
    assert "Traceback" not in output
    for pid_file in (tmp_path / "web.pid", tmp_path / "noise.pid"):  # gone with the run
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid_file.read_text()), 0)


def test_an_email_on_the_console_reads_as_text_not_quoted_printable():
    stream = io.StringIO()
    body = (
        "Reminder: call “Acme Logistics” about the renewal — it is due today, and this line is "
        "long enough that Django's own console backend would switch to quoted-printable."
    )
    message = EmailMultiAlternatives(
        subject="Reminder: “Acme” renewal", body=body, to=["rita@demo.example"]
    )
    message.attach_alternative(f"<p>{body}</p>", "text/html")

    console_mail.EmailBackend(stream=stream).send_messages([message])

    printed = stream.getvalue()
    assert "=E2=80" not in printed
    assert "Subject: Reminder: “Acme” renewal" in printed
    assert "To: rita@demo.example" in printed
    assert body in printed
    assert "[text/html version" in printed


def test_development_prints_emails_with_the_readable_console_backend():
    assert settings.MAILERS["default"]["BACKEND"] in (
        "pipeline_crm.console_mail.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",  # pytest-django's, in tests
    )


def test_favicon_ico_answers_with_the_icon_that_base_html_links(client):
    icon = client.get("/favicon.ico")

    assert icon.status_code == 200
    assert icon["Content-Type"] == "image/svg+xml"
    assert b"<svg" in icon.content
    page = client.get("/accounts/login/").content.decode()
    href = re.search(r'<link rel="icon" href="([^"]+)"', page)
    assert href is not None
    linked = client.get(href[1])
    assert linked.status_code == 200
    assert b"".join(linked.streaming_content) == icon.content  # type: ignore[attr-defined]


def test_make_logins_prints_every_demo_login_and_the_password(monkeypatch):
    monkeypatch.setenv("RUN_PORT", "8123")
    out = io.StringIO()

    call_command("logins", stdout=out)

    assert "http://127.0.0.1:8123/accounts/login/" in out.getvalue()
    assert DEMO_PASSWORD in out.getvalue()
    for username in DEMO_USERNAMES:
        assert username in out.getvalue()


# --- the start-up noise, each at its cause -----------------------------------------------------


def test_django_prints_each_of_its_messages_once():
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('django.utils.autoreload').info('Watching for file changes')"
    )
    env = {**os.environ, "DEBUG": "true", "DJANGO_SETTINGS_MODULE": "pipeline_crm.settings"}

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )

    assert (result.stdout + result.stderr).count("Watching for file changes") == 1, result.stderr


def test_the_broker_url_names_a_host_so_kombu_does_not_warn(caplog):
    connection = Connection(
        settings.CELERY_BROKER_URL, transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS
    )

    connection.info()

    assert "No hostname was supplied" not in caplog.text


def test_the_workers_root_warning_is_left_out_in_development_only(settings):
    root_warning = SecurityWarning("You're running the worker with superuser privileges: ...")
    for debug, expected in ((True, 0), (False, 1)):
        settings.DEBUG = debug
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            celeryd_init.send(sender="celery@test", instance=None, conf=None, options={})
            warnings.warn(root_warning, stacklevel=1)

        assert len(caught) == expected, debug
