#!/usr/bin/env bash
# System packages for the integration tests. Idempotent; quiet when everything is present.
set -euo pipefail
need=()
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || need+=(pgbouncer)
[ -x /usr/lib/postgresql/15/bin/pg_basebackup ] || need+=(postgresql-15)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
# Continuous archiving and point-in-time recovery (tests/tools/test_pitr.py).
command -v pgbackrest >/dev/null 2>&1 || need+=(pgbackrest)
# The console's browser tests (tests/e2e/) drive this Chromium through Playwright.
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing system packages: ${need[*]} (install them with apt-get)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
