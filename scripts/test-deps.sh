#!/usr/bin/env bash
# What the browser tests need beyond Python: Debian's chromium (never a downloaded browser).
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
