"""gunicorn settings, read from the working directory by every `gunicorn` the project starts
(Dockerfile, docker-compose.yml). Command-line flags and GUNICORN_CMD_ARGS still win.

Threaded workers: a sync worker that is still sending a response after `timeout` seconds is
killed by the arbiter, which would cut a long CSV export (100,000 deals stream for ~20 s of CPU)
in the middle. A gthread worker's main thread keeps reporting in while its threads stream, and
a slow download no longer holds the whole worker.
"""

import gc
import os
from typing import Any

worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))


def post_worker_init(worker: Any) -> None:
    """Once the worker has loaded the app: take what it loaded (Django, the apps, their modules)
    out of the garbage collector's reach. Those objects live as long as the worker, yet every
    full collection walked them all again: 20 boards in a row at 100,000 deals took 52 ms at
    the median and 88 ms at worst with them frozen, against 67 ms and 197 ms without.

    Before that, what Django would load inside the worker's first requests is loaded here
    (`pipeline_crm.warmup`: the URL configuration and every template), and the digest of the
    code that keys the shared board cards is read (a few hundred files), not on the worker's
    first board."""
    from pipeline_crm.code_version import code_digest
    from pipeline_crm.warmup import warm_up

    templates = warm_up()
    code_digest()
    gc.freeze()
    worker.log.info("Warmed up: URL configuration and %d templates loaded", templates)
