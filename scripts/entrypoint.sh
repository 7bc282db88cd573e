#!/usr/bin/env bash
# One image, several roles. The container's entrypoint; `make run` and the tests use it too.
#   web       migrate (unless CIRCOLO_MIGRATE=0), then gunicorn on $CIRCOLO_BIND
#   worker    the task queue consumer (sync, analytics, prompts, heartbeat)
#   all       migrate, then web and worker together; Ctrl-C or SIGTERM stops both
#   migrate   only migrate the database
#   anything else is run as a command (e.g. `flask circolo platform list`)
set -euo pipefail

cd "$(dirname "$0")/.."
export FLASK_APP=wsgi:app
BIND="${CIRCOLO_BIND:-0.0.0.0:8000}"
WEB_WORKERS="${CIRCOLO_WEB_WORKERS:-2}"
QUEUE_WORKERS="${CIRCOLO_QUEUE_WORKERS:-2}"

migrate() {
  if [ "${CIRCOLO_MIGRATE:-1}" != "0" ]; then
    flask circolo db upgrade
  fi
}

web() {
  # gunicorn's workers are separate processes: Prometheus needs a shared folder to sum them.
  export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-$(mktemp -d -t circolo-metrics.XXXXXX)}"
  mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
  rm -f "$PROMETHEUS_MULTIPROC_DIR"/*.db
  exec gunicorn --config deploy/gunicorn.conf.py --bind "$BIND" --workers "$WEB_WORKERS" wsgi:app
}

worker() {
  exec flask circolo worker --workers "$QUEUE_WORKERS"
}

role="${1:-web}"
case "$role" in
  web)
    migrate
    web
    ;;
  worker)
    worker
    ;;
  migrate)
    migrate
    ;;
  all)
    migrate
    flask circolo urls
    (web) &
    web_pid=$!
    (worker) &
    worker_pid=$!
    stop() {
      trap - INT TERM
      kill -TERM "$web_pid" "$worker_pid" 2>/dev/null || true
      wait "$web_pid" "$worker_pid" 2>/dev/null || true
    }
    trap 'stop; exit 0' INT TERM
    # When either process ends, stop the other: one half of Circolo is no Circolo.
    status=0
    wait -n "$web_pid" "$worker_pid" || status=$?
    stop
    exit "$status"
    ;;
  *)
    exec "$@"
    ;;
esac
