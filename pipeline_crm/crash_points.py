"""Named points where a test may freeze a job process, to SIGKILL it at the worst moment.

Inert unless the environment asks: `CRM_PAUSE_AT=<point>` and `CRM_PAUSE_FILE=<path>`. On reaching
that point the process writes its pid to the file (the test's barrier) and sleeps, so the test can
kill it knowing exactly what it had claimed and not yet committed or sent. It pauses once: when
the file exists already, the restarted process goes through, as a real one would.

A test that does not kill the process (it cuts its database connection instead) lets it go on
at once by creating `<path>.go`; otherwise it sleeps `CRM_PAUSE_SECONDS` (120).
"""

import os
import time
from pathlib import Path


def crash_point(name: str) -> None:
    if os.environ.get("CRM_PAUSE_AT") != name:
        return
    barrier = Path(os.environ.get("CRM_PAUSE_FILE", ""))
    if not barrier.name or barrier.exists():
        return
    written = barrier.with_name(barrier.name + ".tmp")
    written.write_text(str(os.getpid()))
    written.rename(barrier)  # appears whole: the test reads the pid as soon as it sees the file
    release = barrier.with_name(barrier.name + ".go")
    deadline = time.monotonic() + float(os.environ.get("CRM_PAUSE_SECONDS", "120"))
    while time.monotonic() < deadline and not release.exists():
        time.sleep(0.05)
