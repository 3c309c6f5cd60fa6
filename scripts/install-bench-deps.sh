#!/usr/bin/env bash
# Installs what the benchmark harnesses need beyond the tests: wrk (HTTP load generator, Debian package) and
# coturn (the TURN relay of the gateway benchmark's relayed row) and rsync (the reference of the replication benchmark).
# Idempotent; does nothing when not root or when everything is present.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "install-bench-deps: not root, skipping"; exit 0; }
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v turnserver >/dev/null 2>&1 || missing+=(coturn)
command -v rsync >/dev/null 2>&1 || missing+=(rsync)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-bench-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian package may start a system-wide turnserver; the benchmark starts its own on a free port.
if [ -f /etc/default/coturn ]; then sed -i 's/^#\?TURNSERVER_ENABLED=.*/TURNSERVER_ENABLED=0/' /etc/default/coturn || true; fi
