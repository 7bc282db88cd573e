"""gunicorn settings for Circolo (bind and worker count come from the entrypoint)."""

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


def child_exit(server, worker):
    """Drop a dead worker's Prometheus gauges (multi-process mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
