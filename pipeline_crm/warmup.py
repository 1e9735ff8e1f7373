"""What a web worker loads before it takes its first request (gunicorn's `post_worker_init`).

Django imports the URL configuration (and with it every view module, DRF and the schema
generator) on the first request, and compiles each template the first time it is drawn. A
worker that has just started paid that inside its first requests: a signed-in board took 340 ms
instead of 30 ms at 100,000 deals, and right after a deploy every worker is in that state at
once, while everyone reopens the board. Done here, before the worker accepts connections, it
delays nobody; the objects it creates then live as long as the worker and are frozen out of the
garbage collector's way with the rest (gunicorn.conf.py).
"""

from __future__ import annotations

from pathlib import Path

from django.template import engines
from django.template.loader import get_template
from django.urls import get_resolver, reverse


def warm_up() -> int:
    """Import every view (and fill the URL lookup tables) and compile every template of the
    project (their partials, `name#part`, are read from the compiled whole); returns how
    many templates."""
    get_resolver().url_patterns  # noqa: B018 - imports the URL configuration
    reverse("board")  # the reverse lookup tables are filled on the first reverse
    return len([get_template(name) for name in template_names()])


def template_names() -> list[str]:
    """The templates of the project's template directories."""
    return [
        path.relative_to(directory).as_posix()
        for directory in (Path(d) for engine in engines.all() for d in engine.dirs)
        for path in sorted(directory.rglob("*.html"))
    ]
