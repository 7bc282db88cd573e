#!/usr/bin/env bash
# What the real-Moodle tier needs beyond the test suite's own: Debian's PHP with the extensions
# Moodle requires (never a downloaded PHP), and a PostgreSQL on 127.0.0.1:5432 to install into.
set -euo pipefail

PACKAGES="php8.2-cli php8.2-pgsql php8.2-xml php8.2-mbstring php8.2-curl php8.2-zip php8.2-gd
          php8.2-intl php8.2-soap php8.2-opcache php8.2-readline php8.2-bcmath"
MODULES="pgsql xml mbstring curl zip gd intl soap bcmath sodium"

missing() {
  command -v php >/dev/null 2>&1 || return 0
  local loaded
  loaded="$(php -m 2>/dev/null | tr '[:upper:]' '[:lower:]')"
  for module in $MODULES; do
    grep -qx "$module" <<<"$loaded" || return 0
  done
  return 1
}

if missing; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's PHP for the real-Moodle tier" >&2
    apt-get update -qq >/dev/null
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $PACKAGES >/dev/null
  else
    echo "error: PHP 8.2 with Moodle's extensions is missing and cannot be installed here" \
         "(not root): apt-get install $PACKAGES" >&2
    exit 1
  fi
fi

if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  echo "error: no PostgreSQL on 127.0.0.1:5432 (the tier installs Moodle into a scratch" \
       "database there; trust authentication for postgres or root)" >&2
  exit 1
fi
