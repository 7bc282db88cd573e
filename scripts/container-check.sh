#!/usr/bin/env bash
# Build Circolo's image and run it as IT would, then leave nothing behind. `.ci/run` calls it.
#
#   scripts/container-check.sh                   build (layers cached), run, check, clean up
#   CIRCOLO_CHECK_FRESH_BASE=1 scripts/...       make the stand-in base image again from nothing
#
# The image is built with podman (Debian's, as root, with runc; no daemon, no Docker engine)
# from the Dockerfile, then run the way deploy/compose.yaml runs it, on this machine's
# PostgreSQL (127.0.0.1:5432, trust authentication) and Redis (127.0.0.1:6379): the `worker`
# role first, on an empty scratch database (it must wait for the schema), then the `web` role,
# which migrates it. Both share the host's network; gunicorn binds a free loopback port. It
# passes when /healthz answers, /readyz reports the worker's heartbeat, the image's
# HEALTHCHECK says healthy, and both containers stop cleanly; any failure prints the
# containers' logs and exits non-zero. Containers, their volumes, the scratch database and the
# queue's Redis keys are removed whatever happens; the images are kept as the build cache.
#
# The base image the Dockerfile names is used when it is here or a registry gives it. Where
# none does (this project's CI has no image registry), a stand-in is made from the Debian
# mirror apt already uses: debootstrap's minimal system plus Debian's Python of the same
# version, tagged with the base image's name and kept for the next run.
set -Eeuo pipefail
cd "$(dirname "$0")/.."

say() { printf '== container-check: %s\n' "$*" >&2; }
die() { printf '== container-check: FAILED: %s\n' "$*" >&2; exit 1; }
trap 'say "FAILED: line $LINENO: $BASH_COMMAND"' ERR

BASE_IMAGE="${CIRCOLO_BASE_IMAGE:-$(sed -n 's/^ARG BASE_IMAGE=//p' Dockerfile)}"
[ -n "$BASE_IMAGE" ] || die "the Dockerfile names no ARG BASE_IMAGE"
IMAGE="${CIRCOLO_CHECK_IMAGE:-localhost/circolo:check}"
STAND_IN_LABEL="org.circolo.base-stand-in"
RUN_ID="circolo-check-$$-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
WEB="$RUN_ID-web"
WORKER="$RUN_ID-worker"
DATABASE="${RUN_ID//-/_}"
QUEUE_NAME="$RUN_ID"
PG_HOST=127.0.0.1
PG_PORT=5432
REDIS_HOST=127.0.0.1
REDIS_PORT=6379
WORK="$(mktemp -d -t circolo-container-check.XXXXXX)"
PG_USER=""
STARTED=()

# --- tools ---------------------------------------------------------------------------------------

# need COMMAND:PACKAGE ...: install (apt-get, as root) the packages whose command is missing.
need() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "run as root: podman builds as root here, and ${missing[*]} must be installed"
  say "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# podman reads only this file: Debian's defaults ask for crun (not installed), and podman 4.3
# asks for nofile and nproc limits above what this machine lets runc set, so no container
# would start. The containers get this shell's hard limits instead, nproc at most pid_max
# (measured here: runc could set no more than that).
write_podman_config() {
  local nofile nproc pid_max
  nofile="$(ulimit -Hn)"
  nproc="$(ulimit -Hu)"
  pid_max="$(cat /proc/sys/kernel/pid_max)"
  [ "$nofile" != unlimited ] || nofile="$(cat /proc/sys/fs/nr_open)"
  if [ "$nproc" = unlimited ] || [ "$nproc" -gt "$pid_max" ]; then nproc="$pid_max"; fi
  {
    echo '[containers]'
    echo "default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=$nproc:$nproc\"]"
    echo '[engine]'
    echo 'runtime = "runc"'
    if [ ! -d /run/systemd/system ]; then  # no systemd: cgroups and events without it
      echo 'cgroup_manager = "cgroupfs"'
      echo 'events_logger = "file"'
    fi
  } > "$WORK/containers.conf"
  export CONTAINERS_CONF="$WORK/containers.conf"
}

# --- the base image ------------------------------------------------------------------------------

stand_in_of() {  # prints "debootstrap" when IMAGE is a stand-in this script made
  podman image inspect --format "{{ index .Labels \"$STAND_IN_LABEL\" }}" "$1" 2>/dev/null || true
}

# The Debian mirror apt uses for SUITE: deb822 .sources first (Debian 12), then sources.list.
debian_mirror() {
  local suite="$1" found=""
  if compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null; then
    found="$(awk -v suite="$suite" '
      BEGIN { RS = ""; FS = "\n" }
      {
        deb = 0; ok = 0; on = 1; uri = ""
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^#/) continue
          if (tolower(line) ~ /^types:/ && line ~ /[[:space:]]deb([[:space:]]|$)/) deb = 1
          if (tolower(line) ~ /^enabled:[[:space:]]*no/) on = 0
          if (tolower(line) ~ /^uris:/) { sub(/^[^:]*:[[:space:]]*/, "", line); split(line, u, /[[:space:]]+/); uri = u[1] }
          if (tolower(line) ~ /^suites:/) { n = split(line, s, /[[:space:]]+/); for (j = 2; j <= n; j++) if (s[j] == suite) ok = 1 }
        }
        if (deb && ok && on && uri != "") { print uri; exit }
      }' /etc/apt/sources.list.d/*.sources)"
  fi
  if [ -z "$found" ]; then
    found="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk -v suite="$suite" '
      $1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; i++ }
        if ($(i + 1) == suite) { print $i; exit }
      }')"
  fi
  [ -n "$found" ] || return 1
  echo "$found"
}

# A stand-in for python:X.Y-slim-SUITE: Debian SUITE's minimal system and its pythonX.Y, with
# `python` and `python3` in /usr/local/bin as in the official image.
make_stand_in() {
  local tag="${BASE_IMAGE##*:}" python suite mirror root started
  [[ "$tag" =~ ^([0-9]+\.[0-9]+)-slim-([a-z]+)$ ]] \
    || die "no registry gave $BASE_IMAGE, and a stand-in can only be made for python:X.Y-slim-SUITE"
  python="${BASH_REMATCH[1]}"
  suite="${BASH_REMATCH[2]}"
  need debootstrap:debootstrap
  mirror="${CIRCOLO_DEBIAN_MIRROR:-$(debian_mirror "$suite")}" \
    || die "apt has no Debian $suite mirror to make the stand-in from (set CIRCOLO_DEBIAN_MIRROR)"
  root="$WORK/rootfs"
  started=$SECONDS
  say "making a stand-in for $BASE_IMAGE: debootstrap $suite + python$python from apt's mirror"
  # Python comes from apt inside the new system: debootstrap's own resolver cannot follow
  # python3.X-venv's alternative dependencies.
  if ! { debootstrap --variant=minbase "$suite" "$root" "$mirror" \
         && chroot "$root" apt-get update -qq \
         && chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
              --no-install-recommends ca-certificates "python$python" "python$python-venv"
       } >"$WORK/debootstrap.log" 2>&1; then
    tail -n 30 "$WORK/debootstrap.log" >&2
    die "the stand-in could not be made (debootstrap, then apt-get in it)"
  fi
  ln -s "/usr/bin/python$python" "$root/usr/local/bin/python"
  ln -s "/usr/bin/python$python" "$root/usr/local/bin/python3"
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/log/* "$root"/var/cache/debconf/*-old
  tar --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -C "$root" -c . \
    | podman import --quiet \
        --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["python3"]' \
        --change "LABEL $STAND_IN_LABEL=debootstrap" \
        --message "stand-in for $BASE_IMAGE: Debian $suite minbase + python$python" \
        - "$BASE_IMAGE" >/dev/null
  if grep -q " $root" /proc/mounts; then die "debootstrap left mounts under $root"; fi
  rm -rf --one-file-system "$root"
  say "stand-in $BASE_IMAGE made in $((SECONDS - started)) s"
}

prepare_base() {
  if [ "$(stand_in_of "$BASE_IMAGE")" = debootstrap ] && [ "${CIRCOLO_CHECK_FRESH_BASE:-0}" = 1 ]; then
    say "removing the cached stand-in $BASE_IMAGE (CIRCOLO_CHECK_FRESH_BASE=1)"
    podman rmi --force "$BASE_IMAGE" >/dev/null
  fi
  if podman image exists "$BASE_IMAGE" && [ "$(stand_in_of "$BASE_IMAGE")" != debootstrap ]; then
    say "base image $BASE_IMAGE: already here"
    return
  fi
  # A cached stand-in is untagged while pulling: a short name found here is never pulled.
  local stand_in=""
  if podman image exists "$BASE_IMAGE"; then
    stand_in="$(podman image inspect --format '{{.Id}}' "$BASE_IMAGE")"
    podman untag "$stand_in" "$BASE_IMAGE"
  fi
  if timeout 120 podman pull --quiet "$BASE_IMAGE" >/dev/null 2>"$WORK/pull.log"; then
    say "base image $BASE_IMAGE: pulled"
    [ -z "$stand_in" ] || podman rmi "$stand_in" >/dev/null 2>&1 || true
    return
  fi
  say "no registry gave $BASE_IMAGE ($(tail -n 1 "$WORK/pull.log"))"
  if [ -n "$stand_in" ]; then
    podman tag "$stand_in" "$BASE_IMAGE"
    say "base image $BASE_IMAGE: the stand-in made by an earlier run"
    return
  fi
  make_stand_in
}

# --- build -----------------------------------------------------------------------------------------

build_image() {
  local args=() name cert previous current started
  # pip inside the build reaches PyPI as the host does: its index and proxy settings (podman
  # passes *_proxy itself) and its CA bundle, which trusts an intercepting proxy if there is one.
  for name in PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_TRUSTED_HOST; do
    [ -z "${!name:-}" ] || args+=(--build-arg "$name=${!name}")
  done
  cert="${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}"
  if [ -f "$cert" ]; then
    args+=(--volume "$cert:$cert:ro" --build-arg "PIP_CERT=$cert")
  fi
  [ -z "${CIRCOLO_BASE_IMAGE:-}" ] || args+=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
  previous="$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
  started=$SECONDS
  say "building $IMAGE from $BASE_IMAGE"
  # --format docker: the OCI format has no HEALTHCHECK and would drop it.
  podman build --format docker --pull=never --network host "${args[@]}" \
    --tag "$IMAGE" --file Dockerfile . >"$WORK/build.log" 2>&1 \
    || { tail -n 40 "$WORK/build.log" >&2; die "podman build failed"; }
  current="$(podman image inspect --format '{{.Id}}' "$IMAGE")"
  say "image $IMAGE built in $((SECONDS - started)) s; steps run (the others came from the cache):"
  # A code change should only re-run the steps from the source's COPY on, never pip's.
  awk '/STEP [0-9]+\/[0-9]+: / { if (step != "" && !cached) print step; step = $0; cached = 0; next }
       /^--> Using cache/ { cached = 1 }
       END { if (step != "" && !cached) print step }' "$WORK/build.log" \
    | grep -v ': FROM ' | cut -c1-100 | sed 's/^/     /' | grep . >&2 || echo '     (none)' >&2
  if [ -n "$previous" ] && [ "$previous" != "$current" ]; then
    podman rmi "$previous" >/dev/null 2>&1 || true  # the previous build, now untagged
  fi
  [ "$(podman image inspect --format '{{.Config.Healthcheck}}' "$IMAGE")" != "<nil>" ] \
    || die "the image has no HEALTHCHECK"
}

# --- run -------------------------------------------------------------------------------------------

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pg() { psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -v ON_ERROR_STOP=1 -qAt "$@"; }

find_pg_user() {
  local user
  for user in postgres root; do
    if psql -h "$PG_HOST" -p "$PG_PORT" -U "$user" -d postgres -qAt -c 'select 1' >/dev/null 2>&1; then
      PG_USER="$user"
      return
    fi
  done
  die "no PostgreSQL with trust authentication for postgres or root at $PG_HOST:$PG_PORT"
}

# wait_for WHAT SECONDS COMMAND...: run COMMAND every second until it succeeds.
wait_for() {
  local what="$1" seconds="$2" started=$SECONDS
  shift 2
  until "$@"; do
    if ((SECONDS - started >= seconds)); then die "$what: not within $seconds s"; fi
    for container in "${STARTED[@]}"; do
      if [ "$(podman inspect --format '{{.State.Running}}' "$container" 2>/dev/null)" != true ]; then
        die "$what: the container $container stopped"
      fi
    done
    sleep 1
  done
  say "$what (after $((SECONDS - started)) s)"
}

# quietly COMMAND...: run COMMAND; show what it said only if it fails.
quietly() {
  "$@" >"$WORK/said" 2>&1 || { cat "$WORK/said" >&2; return 1; }
}

logs_say() {  # logs_say CONTAINER TEXT: the container's log holds TEXT
  local logs
  logs="$(podman logs "$1" 2>&1)"
  [[ "$logs" == *"$2"* ]]
}

answers() {  # answers URL STATUS: the URL answers STATUS; its body is kept in $WORK/body
  [ "$(curl -s -o "$WORK/body" -w '%{http_code}' --max-time 5 "$1")" = "$2" ]
}

worker_ready() {
  answers "$1/readyz" 200 && python3 -c '
import json, sys
checks = json.load(open(sys.argv[1]))["checks"]
sys.exit(0 if all(checks[name]["ok"] for name in ("database", "migrations", "worker")) else 1)
' "$WORK/body"
}

run_roles() {
  local port base_url common
  port="$(free_port)"
  base_url="http://127.0.0.1:$port"
  CIRCOLO_SECRET_KEY="$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
  CIRCOLO_ENCRYPTION_KEY="$(python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')"
  export CIRCOLO_SECRET_KEY CIRCOLO_ENCRYPTION_KEY
  # Secrets as `--env NAME` (the value comes from this environment): never on a command line.
  common=(--detach --network host --read-only
          --env CIRCOLO_ENV=production --env CIRCOLO_SECRET_KEY --env CIRCOLO_ENCRYPTION_KEY
          --env CIRCOLO_PUBLIC_BASE_URL=https://circolo.example.org
          --env "CIRCOLO_DATABASE_URL=postgresql://$PG_USER@$PG_HOST:$PG_PORT/$DATABASE"
          --env "CIRCOLO_QUEUE_URL=redis://$REDIS_HOST:$REDIS_PORT/0"
          --env "CIRCOLO_QUEUE_NAME=$QUEUE_NAME"
          --env "CIRCOLO_BIND=127.0.0.1:$port"
          --env CIRCOLO_WEB_WORKERS=1 --env CIRCOLO_QUEUE_WORKERS=1)

  # The worker first, on a database nobody has migrated yet: it has to wait for the schema.
  STARTED+=("$WORKER")
  quietly podman run "${common[@]}" --name "$WORKER" --no-healthcheck "$IMAGE" worker
  wait_for "the worker waits for the schema" 60 logs_say "$WORKER" "worker waiting for the database"
  STARTED+=("$WEB")
  # podman runs HEALTHCHECKs on a systemd timer; without systemd it says it cannot make one
  # (an error it then ignores), and the check below runs the HEALTHCHECK by hand.
  quietly podman run "${common[@]}" --name "$WEB" "$IMAGE" web
  wait_for "web answers $base_url/healthz" 120 answers "$base_url/healthz" 200
  wait_for "web migrated and /readyz sees the worker's heartbeat" 120 worker_ready "$base_url"
  logs_say "$WORKER" "worker starting" || die "the worker never said it started"
  for container in "$WORKER" "$WEB"; do
    if podman logs "$container" 2>&1 | grep -E '"level": ?"(ERROR|CRITICAL)"|Traceback' >&2; then
      die "$container logged errors"
    fi
  done
  podman healthcheck run "$WEB" >/dev/null || die "the image's HEALTHCHECK did not report healthy"
  say "HEALTHCHECK: healthy on port $port"

  quietly podman stop --time 30 "$WEB" "$WORKER"
  for container in "$WEB" "$WORKER"; do
    code="$(podman inspect --format '{{.State.ExitCode}}' "$container")"
    [ "$code" = 0 ] || die "$container exited with $code when stopped"
  done
  say "web and worker stopped cleanly"
}

# --- clean-up --------------------------------------------------------------------------------------

clean_up() {
  local status=$? container keys
  trap - EXIT
  if [ "$status" -ne 0 ]; then
    for container in "${STARTED[@]}"; do
      printf '\n== container-check: logs of %s\n' "$container" >&2
      podman logs "$container" >&2 2>&1 || true
    done
  fi
  for container in "${STARTED[@]}"; do
    podman rm --force --volumes "$container" >/dev/null 2>&1 || true
  done
  if [ -n "$PG_USER" ]; then
    pg -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$DATABASE'" >/dev/null 2>&1 || true
    pg -c "DROP DATABASE IF EXISTS \"$DATABASE\"" >/dev/null 2>&1 || true
  fi
  redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" --scan --pattern "*$QUEUE_NAME*" 2>/dev/null \
    | xargs -r redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" del >/dev/null 2>&1 || true
  # Prove it: nothing of this run is left.
  if [ -n "$(podman ps --all --quiet --filter "name=$RUN_ID" 2>/dev/null)" ]; then
    echo "== container-check: containers of $RUN_ID are left" >&2; status=1
  fi
  if [ -n "$PG_USER" ] && [ -n "$(pg -c "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'" 2>/dev/null)" ]; then
    echo "== container-check: database $DATABASE is left" >&2; status=1
  fi
  keys="$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" --scan --pattern "*$QUEUE_NAME*" 2>/dev/null || true)"
  if [ -n "$keys" ]; then echo "== container-check: Redis keys are left: $keys" >&2; status=1; fi
  rm -rf "$WORK"
  if [ "$status" -eq 0 ]; then say "passed"; fi
  exit "$status"
}

main() {
  trap clean_up EXIT
  trap 'exit 130' INT TERM  # interrupted (a CI timeout): clean up all the same
  need podman:podman runc:runc curl:curl psql:postgresql-client redis-cli:redis-tools python3:python3
  write_podman_config
  prepare_base
  build_image
  find_pg_user
  pg -c "CREATE DATABASE \"$DATABASE\""
  run_roles
}

main "$@"
