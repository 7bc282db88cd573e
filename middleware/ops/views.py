"""/healthz, /readyz and /metrics."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, current_app, jsonify

from ..db import database
from .metrics import render_metrics
from .readiness import check_readiness

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Answer while the process is alive; checks nothing else."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Report whether this instance can serve: database, migrations, worker heartbeat."""
    settings = current_app.config["CIRCOLO"]
    readiness = check_readiness(
        database(),
        heartbeat_max_age=timedelta(seconds=settings.worker_heartbeat_max_age_seconds),
    )
    status = "ready" if readiness.ready else "not ready"
    return jsonify(status=status, checks=readiness.checks), 200 if readiness.ready else 503


@bp.get("/metrics")
def metrics() -> Response:
    """Expose Prometheus metrics."""
    return render_metrics()
