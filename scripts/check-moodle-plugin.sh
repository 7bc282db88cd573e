#!/usr/bin/env bash
# CI check of the Moodle plugin (moodle/local_circolo): every PHP file passes `php -l`, and the
# plugin's English and Italian string files define the same strings. Installs php-cli when it is
# missing and this runs as root (CI's clean machine).
set -euo pipefail
cd "$(dirname "$0")/.."
PLUGIN=moodle/local_circolo

if ! command -v php >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's php-cli for the plugin check" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq php-cli >/dev/null
  else
    echo "php is not installed (Debian package php-cli): cannot check $PLUGIN" >&2
    exit 1
  fi
fi

failed=0
count=0
while IFS= read -r -d '' file; do
  count=$((count + 1))
  if ! output=$(php -l "$file" 2>&1); then
    echo "$output" >&2
    failed=1
  fi
done < <(find "$PLUGIN" -name '*.php' -print0 | sort -z)

# Every English string has an Italian one and the other way round; both files are PHP arrays.
php -r '
  define("MOODLE_INTERNAL", true);
  $load = function ($lang) { $string = []; include "'"$PLUGIN"'/lang/$lang/local_circolo.php"; return $string; };
  $en = $load("en"); $it = $load("it");
  $missing = array_merge(array_diff_key($en, $it), array_diff_key($it, $en));
  foreach (array_keys($missing) as $key) { fwrite(STDERR, "string only in one language: $key\n"); }
  foreach (["pluginname", "messageprovider:prompt", "circolo:readchanges", "circolo:deliverprompts"] as $key) {
    if (!isset($en[$key])) { fwrite(STDERR, "missing string: $key\n"); exit(1); }
  }
  $keys = array_keys($en); $sorted = $keys; sort($sorted, SORT_STRING);
  if ($keys !== $sorted) { fwrite(STDERR, "lang/en strings are not in alphabetical order\n"); exit(1); }
  exit($missing ? 1 : 0);
' || failed=1

if [ "$failed" = 0 ]; then
  echo "moodle plugin: $count PHP files pass php -l; English and Italian strings match"
fi
exit "$failed"
