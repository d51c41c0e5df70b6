#!/usr/bin/env bash
# The Debian packages the test suite uses: Chromium (browser tests), PostgreSQL (server for
# the PostgreSQL run), and WordPress with MariaDB and PHP's CLI and extensions (the WordPress
# tests). Installed when missing and we are root; otherwise the tests that need them say they
# are skipped and why.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ -f /usr/share/wordpress/wp-settings.php ] || need+=(wordpress)
[ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
command -v php >/dev/null 2>&1 || need+=(php-cli)
# PHP extensions: each package drops its .ini where every PHP version's modules are listed.
ls /etc/php/*/mods-available/mysqli.ini >/dev/null 2>&1 || need+=(php-mysql)
ls /etc/php/*/mods-available/curl.ini >/dev/null 2>&1 || need+=(php-curl)
ls /etc/php/*/mods-available/mbstring.ini >/dev/null 2>&1 || need+=(php-mbstring)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages the tests use: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "note: ${need[*]} not installed; tests needing them will be skipped" >&2
fi
