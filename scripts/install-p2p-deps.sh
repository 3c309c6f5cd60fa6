#!/usr/bin/env bash
# Installs what the P2P integration tests need: coturn (TURN/STUN server), iproute2 and iptables (network
# namespaces and NAT), and chromium (headless browser tests). Does nothing when not root (those tests then skip and say why) or when all are present.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "install-p2p-deps: not root, skipping (P2P NAT tests will be skipped)"; exit 0; }
missing=()
command -v turnserver >/dev/null 2>&1 || missing+=(coturn)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v iptables >/dev/null 2>&1 || missing+=(iptables)
# Headless Chromium: the gateway's cookie-exchange test (and browser interop tests) drive it over DevTools.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-p2p-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian package may start a system-wide turnserver; the tests start their own on their own addresses.
if [ -f /etc/default/coturn ]; then sed -i 's/^#\?TURNSERVER_ENABLED=.*/TURNSERVER_ENABLED=0/' /etc/default/coturn || true; fi
