#!/usr/bin/env bash
# The Debian packages the test suite uses: Chromium (browser tests) and PostgreSQL (server for
# the PostgreSQL run). Installed when missing and we are root; otherwise the tests that need
# them say they are skipped and why.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages the tests use: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "note: ${need[*]} not installed; tests needing them will be skipped" >&2
fi
