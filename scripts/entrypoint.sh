#!/usr/bin/env bash
# One image, several roles. The container's entrypoint; `make run` and the tests use it too.
#   web       migrate (unless CIRCOLO_MIGRATE=0), then gunicorn on $CIRCOLO_BIND
#   worker    the task queue consumer (sync, analytics, prompts, heartbeat), once the database
#             is migrated (it waits up to 5 minutes for the web role to do it)
#   all       migrate, then web and worker together (a worker that dies is restarted);
#             Ctrl-C or SIGTERM stops both
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
    worker_pid=""
    pause_pid=""
    start_worker() {
      (worker) &
      worker_pid=$!
      worker_started=$SECONDS
      echo "circolo: worker started (pid $worker_pid)" >&2
    }
    stop() {
      trap - INT TERM
      kill -TERM "$web_pid" $worker_pid $pause_pid 2>/dev/null || true
      wait 2>/dev/null || true
    }
    web_ended() {
      echo "circolo: the web server stopped (exit $1); stopping the worker" >&2
      stop
      exit "$1"
    }
    trap 'stop; exit 0' INT TERM
    start_worker
    # The web server is what people reach: when it ends, everything does. A worker that ends
    # is started again while the web keeps serving, after a pause that doubles (up to a minute)
    # while it keeps dying within a minute of starting, so a worker failing at start cannot spin.
    delay=1
    while true; do
      ended=""
      status=0
      wait -n -p ended "$web_pid" "$worker_pid" || status=$?
      [ "$ended" != "$web_pid" ] || web_ended "$status"
      if ((SECONDS - worker_started >= 60)); then delay=1; fi
      echo "circolo: the worker stopped (exit $status); restarting it in $delay s" >&2
      sleep "$delay" &
      pause_pid=$!
      ended=""
      wait -n -p ended "$web_pid" "$pause_pid" || status=$?
      [ "$ended" != "$web_pid" ] || web_ended "$status"
      pause_pid=""
      start_worker
      delay=$((delay * 2 > 60 ? 60 : delay * 2))
    done
    ;;
  *)
    exec "$@"
    ;;
esac
