#!/usr/bin/env bash
# Installs etcd (Debian's etcd-server) for the etcd provider's tests and the highly available control-plane
# tests. Installs only when run as root and etcd is missing. It starts nothing: each test fixture starts its own
# etcd on free loopback ports with a temp data directory and kills it afterwards.
set -euo pipefail

if command -v etcd >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-etcd.sh: etcd is missing and this is not root; the etcd tests will fail. Install it with: apt-get install -y etcd-server" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends etcd-server >/dev/null; then
  apt-get update >/dev/null
  apt-get install -y --no-install-recommends etcd-server >/dev/null
fi
# The package may start a system etcd on the default ports; the tests do not use it, so stop it if it runs.
if command -v service >/dev/null 2>&1; then service etcd stop >/dev/null 2>&1 || true; fi
etcd --version | head -1
