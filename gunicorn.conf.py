"""gunicorn settings, read from the working directory by every `gunicorn` the project starts
(Dockerfile, docker-compose.yml). Command-line flags and GUNICORN_CMD_ARGS still win.

Threaded workers: a sync worker that is still sending a response after `timeout` seconds is
killed by the arbiter, which would cut a long CSV export (100,000 deals stream for ~20 s of CPU)
in the middle. A gthread worker's main thread keeps reporting in while its threads stream, and
a slow download no longer holds the whole worker.
"""

import os

worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
