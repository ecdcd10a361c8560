#!/usr/bin/env bash
# Installs the engines the tests start on their own ports: Postgres (tasks) and Redis (live events, cancels).
# Idempotent; needs root (apt-get) only when one is missing.
set -euo pipefail
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "the tests need ${missing[*]}: install them (sudo apt-get install ${missing[*]}) and run again" >&2
    exit 1
fi
echo "installing ${missing[*]} for the tests"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
