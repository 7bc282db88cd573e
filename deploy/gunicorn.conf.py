"""gunicorn settings for Circolo (bind and worker count come from the entrypoint)."""

import gc
import os

worker_class = "gthread"
threads = int(os.environ.get("CIRCOLO_WEB_THREADS", "4"))
timeout = 30
graceful_timeout = 20
keepalive = 5
# Circolo logs JSON itself; gunicorn's access log would duplicate every line.
accesslog = None
errorlog = "-"
forwarded_allow_ips = os.environ.get("CIRCOLO_FORWARDED_ALLOW_IPS", "127.0.0.1")
proxy_allow_ips = forwarded_allow_ips

# gunicorn (25.1 on) opens a control socket for `gunicornc` at one path per user
# ($XDG_RUNTIME_DIR/gunicorn.ctl or ~/.gunicorn/gunicorn.ctl): every gunicorn that user runs on
# the machine takes it over, and the first to stop deletes it from under the others. Off, unless
# CIRCOLO_CONTROL_SOCKET gives this instance a path of its own.
_own_control_socket = os.environ.get("CIRCOLO_CONTROL_SOCKET")
if _own_control_socket:
    control_socket = _own_control_socket
control_socket_disable = not _own_control_socket


def post_worker_init(worker):
    """Keep what the worker loaded at start-up out of the garbage collector's full passes."""
    # Flask, SQLAlchemy, Babel, igraph and the app's modules and caches live as long as the
    # worker; without this every full collection walked them again (measured: 10-25 ms per
    # dashboard request on average, in pauses of tens of milliseconds).
    gc.collect()
    gc.freeze()


def child_exit(server, worker):
    """Drop a dead worker's Prometheus gauges (multi-process mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
