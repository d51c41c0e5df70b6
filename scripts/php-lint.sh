#!/usr/bin/env bash
# `php -l` on every PHP file under the given folders: fails (listing each file and PHP's
# message) on a syntax error. Without PHP installed it says so and skips, as the PHP tests do.
set -euo pipefail
if ! command -v php >/dev/null 2>&1; then
  echo "php-lint: php is not installed, skipping php -l of $* (Debian: apt-get install php-cli)" >&2
  exit 0
fi
mapfile -d '' files < <(find "$@" -name '*.php' -type f -print0 | sort -z)
if [ ${#files[@]} -eq 0 ]; then
  echo "php-lint: no PHP files under $*" >&2
  exit 0
fi
failed=0
for file in "${files[@]}"; do
  if ! out=$(php -d display_errors=stderr -d log_errors=0 -l "$file" 2>&1); then
    echo "$out" >&2
    failed=1
  fi
done
[ $failed -eq 0 ] && echo "php-lint: ${#files[@]} PHP file(s) under $* parse cleanly"
exit $failed
