#!/usr/bin/env bash
# Installs what the benchmark harnesses need beyond the tests: wrk (HTTP load generator, Debian package).
# Idempotent; does nothing when not root or when everything is present.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "install-bench-deps: not root, skipping"; exit 0; }
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v curl >/dev/null 2>&1 || missing+=(curl)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-bench-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
