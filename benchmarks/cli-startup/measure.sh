#!/usr/bin/env bash
# CLI start-up: median wall time of `vcluster status` against a running local cluster, per way of starting the CLI:
#   before: the README's old alias, `dotnet run --project src/VirtualCluster.Cli --`
#   dll:    `dotnet artifacts/bin/VirtualCluster.Cli/<config>/vcluster.dll`
#   after:  the apphost `artifacts/bin/VirtualCluster.Cli/<config>/vcluster` that `local` prints
# The runs of the three ways are interleaved, so load from other work on the machine falls on all of them alike.
# Starts its own `local` cluster (temp data dir, free API port, its own CLI config) and stops it at the end.
# One agent by default (--agents N for more): the CLI talks only to the control plane, and a busy machine starts
# one agent quickly where three may take minutes.
# Usage: benchmarks/cli-startup/measure.sh [--runs 20] [--agents 1] [--config debug] [--no-build]
# Not run by ./test.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=20 config=debug build=1 agents=1
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --config) config="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --agents) agents="$2"; shift 2 ;;
    *) echo "measure.sh: unknown argument $1 (use --runs N, --config debug|release, --no-build)" >&2; exit 2 ;;
  esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "measure.sh: --runs must be a positive whole number" >&2; exit 2; }
Config=$([ "$config" = release ] && echo Release || echo Debug)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 NO_COLOR=1
if [ "$build" = 1 ]; then
  dotnet build samples/VirtualCluster.Host.Console -c "$Config" -nologo -v q >/dev/null
  dotnet build src/VirtualCluster.Cli -nologo -v q >/dev/null # what `dotnet run` (Debug) would otherwise build on its first call
fi
host="artifacts/bin/VirtualCluster.Host.Console/$config/VirtualCluster.Host.Console.dll"
apphost="artifacts/bin/VirtualCluster.Cli/$config/vcluster"
dll="artifacts/bin/VirtualCluster.Cli/$config/vcluster.dll"
for f in "$host" "$apphost" "$dll"; do [ -f "$f" ] || { echo "measure.sh: $f is missing; run without --no-build" >&2; exit 1; }; done

work=$(mktemp -d -t vc-clibench-XXXXXX)
export VCLUSTER_CONFIG="$work/cli-config.json"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
dotnet "$host" local --data-dir "$work/cluster" --port "$port" --service-ports 46000 --agents "$agents" >"$work/local.out" 2>&1 &
local_pid=$!
cleanup() {
  kill -INT "$local_pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$local_pid" 2>/dev/null || break; sleep 1; done
  kill -KILL "$local_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 240); do
  grep -q "local cluster ready" "$work/local.out" && break
  kill -0 "$local_pid" 2>/dev/null || { cat "$work/local.out" >&2; echo "measure.sh: local exited" >&2; exit 1; }
  sleep 0.5
done
grep -q "local cluster ready" "$work/local.out" || { cat "$work/local.out" >&2; echo "measure.sh: local did not get ready in 120 s" >&2; exit 1; }

# One timed run; fails the harness if the command fails (a fast error is not a fast CLI).
timed() {
  local start end
  start=$(date +%s.%N)
  "$@" status >/dev/null 2>"$work/err" || { cat "$work/err" >&2; echo "measure.sh: $* status failed" >&2; exit 1; }
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}
: >"$work/before"; : >"$work/dll"; : >"$work/after"
timed "$apphost" >/dev/null # warm the file cache once for each, untimed
timed dotnet "$dll" >/dev/null
timed dotnet run --project src/VirtualCluster.Cli -- >/dev/null
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq 1 "$runs"); do
  timed dotnet run --project src/VirtualCluster.Cli -- >>"$work/before"
  timed dotnet "$dll" >>"$work/dll"
  timed "$apphost" >>"$work/after"
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

stats() { sort -g "$1" | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f %.3f %.3f", m, v[1], v[NR] }'; }
read -r b_med b_min b_max <<<"$(stats "$work/before")"
read -r d_med d_min d_max <<<"$(stats "$work/dll")"
read -r a_med a_min a_max <<<"$(stats "$work/after")"
ratio=$(echo "$b_med / $a_med" | bc -l)
echo "| way of starting \`vcluster status\` | median | min | max |"
echo "|---|---|---|---|"
printf '| before: `dotnet run --project src/VirtualCluster.Cli --` | %.3f s | %.3f s | %.3f s |\n' "$b_med" "$b_min" "$b_max"
printf '| `dotnet artifacts/bin/VirtualCluster.Cli/%s/vcluster.dll` | %.3f s | %.3f s | %.3f s |\n' "$config" "$d_med" "$d_min" "$d_max"
printf '| after: apphost `artifacts/bin/VirtualCluster.Cli/%s/vcluster` (printed by `local`) | %.3f s | %.3f s | %.3f s |\n' "$config" "$a_med" "$a_min" "$a_max"
printf '\n%s runs each, interleaved; after is %.1fx faster than before. Load average %s at the start, %s at the end; %s cores.\n' \
  "$runs" "$ratio" "$load_start" "$load_end" "$(nproc)"
