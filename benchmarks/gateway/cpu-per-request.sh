#!/usr/bin/env bash
# CPU per request of a gateway and an agent (user + system from /proc/<pid>/stat) around one wrk run, against a
# cluster held by `benchmarks/gateway/run.sh --hold` (which prints the URLs, Host headers and process ids).
# Less sensitive to the machine's load than requests/s; run two clusters (before and after) and alternate.
# Usage: benchmarks/gateway/cpu-per-request.sh URL HOST GATEWAY_PID AGENT_PID SIZE [SECONDS] [CONNECTIONS]
#   e.g. benchmarks/gateway/cpu-per-request.sh http://127.0.0.1:40831 bench.localhost:40831 9681 9763 102400 5
set -euo pipefail
[ $# -ge 5 ] || { sed -n 2,6p "$0"; exit 2; }
url=$1; host=$2; gw=$3; ag=$4; size=$5; dur=${6:-8}; c=${7:-32}; t=$(( c < 2 ? c : 2 ))
tick=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
# context switches of every thread (each a sleep and a wake-up: on a VM the dearest part of a hand-off between threads)
switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/_ctxt_switches/{n+=$2} END{print n}'; }
wrk -t"$t" -c"$c" -d2s -H "Host: $host" "$url/bytes/$size" >/dev/null # warm-up, not measured
g0=$(cpu "$gw"); a0=$(cpu "$ag"); gs0=$(switches "$gw"); as0=$(switches "$ag")
out=$(wrk -t"$t" -c"$c" -d"${dur}s" -H "Host: $host" "$url/bytes/$size")
g1=$(cpu "$gw"); a1=$(cpu "$ag"); gs1=$(switches "$gw"); as1=$(switches "$ag")
req=$(awk '/requests in/{print $1}' <<<"$out")
rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
awk -v t="$tick" -v r="$req" -v g=$((g1 - g0)) -v a=$((a1 - a0)) -v rps="$rps" -v s="$size" -v gs=$((gs1 - gs0)) -v as=$((as1 - as0)) -v load="$(cut -d' ' -f1 /proc/loadavg)" \
  'BEGIN { printf "size=%s requests=%d rps=%s gateway_us_per_request=%.0f agent_us_per_request=%.0f gateway_switches_per_request=%.1f agent_switches_per_request=%.1f load=%s\n", s, r, rps, g/t/r*1e6, a/t/r*1e6, gs/r, as/r, load }'
