#!/usr/bin/env bash
# What the browser tests need beyond Python: Debian's chromium (never a downloaded browser)
# and axe-core from npm.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser tests" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
  else
    echo "warning: chromium is not installed and cannot be installed here (not root);" \
         "the browser tests will fail in CI and be skipped locally" >&2
  fi
fi

# axe-core, pinned by package-lock.json, that the accessibility tests inject into pages.
if [ ! -f node_modules/axe-core/axe.min.js ]; then
  if command -v npm >/dev/null 2>&1; then
    npm ci --no-audit --no-fund --loglevel=error
  elif [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's npm for the accessibility tests" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
    npm ci --no-audit --no-fund --loglevel=error
  else
    echo "warning: npm is missing; the accessibility tests will fail" >&2
  fi
fi
