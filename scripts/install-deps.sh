#!/usr/bin/env bash
# Installs and starts the system services the integration tests use. Idempotent and quiet when all is in place.
#   as root:   installs missing Debian packages (docker.io, busybox-static, curl, dnsutils, pebble, prometheus, prometheus-alertmanager), starts dockerd (vfs storage) when no
#              daemon answers, waits for it, and builds the local test image (scripts/docker-test-image.sh).
#   otherwise: only checks, and prints what is missing (tests that need it then skip and say why).
# A dockerd started here outlives this script (setsid + nohup); its log is $VC_DOCKERD_LOG (/tmp/vc-dockerd.log).
set -uo pipefail
cd "$(dirname "$0")/.."

dockerd_log="${VC_DOCKERD_LOG:-/tmp/vc-dockerd.log}"
missing=()

docker_answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

need_packages() {
  local pkgs=()
  command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1 || pkgs+=(docker.io)
  dpkg -s busybox-static >/dev/null 2>&1 || pkgs+=(busybox-static)
  command -v curl >/dev/null 2>&1 || pkgs+=(curl) # a TLS client nobody here wrote, for the API tests
  command -v dig >/dev/null 2>&1 || pkgs+=(dnsutils) # a real DNS client for the gateway's DNS responder tests
  command -v pebble >/dev/null 2>&1 || pkgs+=(pebble) # Let's Encrypt's ACME test CA, for the gateway's ACME tests
  echo "${pkgs[@]:-}"
}

if [ "$(id -u)" -ne 0 ]; then
  pkgs=$(need_packages)
  [ -n "$pkgs" ] && missing+=("packages: $pkgs (apt-get install -y $pkgs)")
  command -v promtool >/dev/null 2>&1 || missing+=("prometheus (apt-get install -y --no-install-recommends prometheus)")
  command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=("prometheus-alertmanager (apt-get install -y --no-install-recommends prometheus-alertmanager)")
  docker_answers || missing+=("a Docker daemon answering on ${DOCKER_HOST:-unix:///var/run/docker.sock} (dockerd --storage-driver=vfs)")
  if docker_answers && ! docker image inspect vc/busybox:test >/dev/null 2>&1; then
    missing+=("test image vc/busybox:test (scripts/docker-test-image.sh)")
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: not root, so nothing installed; missing:" >&2
    for m in "${missing[@]}"; do echo "  - $m" >&2; done
    echo "install-deps: tests that need these will skip and say why" >&2
  fi
  exit 0
fi

pkgs=$(need_packages)
if [ -n "$pkgs" ]; then
  echo "install-deps: installing $pkgs" >&2
  export DEBIAN_FRONTEND=noninteractive
  # The package lists may be missing or stale on a fresh machine: update once, then install.
  if ! apt-get install -y -qq $pkgs >/tmp/vc-apt.log 2>&1; then
    apt-get update -qq >>/tmp/vc-apt.log 2>&1
    apt-get install -y -qq $pkgs >>/tmp/vc-apt.log 2>&1 || { echo "install-deps: apt-get install $pkgs failed; see /tmp/vc-apt.log" >&2; exit 1; }
  fi
fi

# promtool, a real Prometheus server and a real Alertmanager, for the /metrics and alert tests; without recommends
# (their exporters and web assets are not needed).
monitoring=()
command -v promtool >/dev/null 2>&1 || monitoring+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || monitoring+=(prometheus-alertmanager)
if [ ${#monitoring[@]} -gt 0 ]; then
  echo "install-deps: installing ${monitoring[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq --no-install-recommends "${monitoring[@]}" >>/tmp/vc-apt.log 2>&1; then
    apt-get update -qq >>/tmp/vc-apt.log 2>&1
    apt-get install -y -qq --no-install-recommends "${monitoring[@]}" >>/tmp/vc-apt.log 2>&1 || { echo "install-deps: apt-get install ${monitoring[*]} failed; see /tmp/vc-apt.log" >&2; exit 1; }
  fi
fi

if ! docker_answers; then
  echo "install-deps: starting dockerd (log: $dockerd_log)" >&2
  setsid nohup dockerd --storage-driver=vfs >>"$dockerd_log" 2>&1 </dev/null &
  for _ in $(seq 1 120); do
    docker_answers && break
    sleep 0.5
  done
  if ! docker_answers; then
    echo "install-deps: dockerd did not answer within 60 s; last lines of $dockerd_log:" >&2
    tail -n 20 "$dockerd_log" >&2
    exit 1
  fi
fi

scripts/docker-test-image.sh || exit 1
