#!/usr/bin/env bash
# Installs what the P2P integration tests need: coturn (TURN/STUN server), iproute2 and iptables (network
# namespaces and NAT), Debian's chromium (the browser peer of the WebRTC interop tests) with libnss3-tools (certutil,
# for its trust store) and, through npm into tests/interop/node (from its package-lock.json), node-datachannel (the
# libdatachannel peer). System packages are skipped when not root (those tests then fail or skip and say why);
# everything is skipped when already present.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ "$(id -u)" -eq 0 ]; then
  missing=()
  command -v turnserver >/dev/null 2>&1 || missing+=(coturn)
  command -v ip >/dev/null 2>&1 || missing+=(iproute2)
  command -v iptables >/dev/null 2>&1 || missing+=(iptables)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  # certutil: the HTTPS gateway tests add Pebble's root to Chromium's NSS store with it.
  command -v certutil >/dev/null 2>&1 || missing+=(libnss3-tools)
  command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "install-p2p-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # The Debian package may start a system-wide turnserver; the tests start their own on their own addresses.
  if [ -f /etc/default/coturn ]; then sed -i 's/^#\?TURNSERVER_ENABLED=.*/TURNSERVER_ENABLED=0/' /etc/default/coturn || true; fi
else
  echo "install-p2p-deps: not root, skipping system packages (P2P NAT tests will be skipped)"
fi
# node-datachannel (a prebuilt libdatachannel binding) for the interop tests, pinned by package-lock.json.
node_dir="$repo/tests/interop/node"
if command -v npm >/dev/null 2>&1 && [ -f "$node_dir/package-lock.json" ] && [ ! -d "$node_dir/node_modules/node-datachannel" ]; then
  echo "install-p2p-deps: npm ci in tests/interop/node"
  (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
