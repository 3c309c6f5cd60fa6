#!/usr/bin/env bash
# Gateway benchmark (issue 13). One cluster on loopback, started by this script on free ports in a temp directory:
# a control plane, three agents and up to three gateways that every agent serves:
#   gw-tunnel  --p2p off: requests reach the instance through the agent's TCP/WebSocket tunnel (the fallback);
#   gw-direct  peer links on: through a WebRTC data channel over a direct ICE pair;
#   gw-relay   peer links on, relay forced (--ice-transport-policy relay): through coturn on loopback.
# (A build whose gateway has no --p2p / --ice-transport-policy option gets the tunnel row only, and says so.)
# In the same run and with the same wrk settings: requests/s and p50/p99 latency for 1 KiB and 100 KiB responses
# straight to the instance (the reference) and through each gateway; then the time from a new instance being
# healthy to the stable URL answering from it after kill -9 of the singleton's machine (median of --failovers
# runs); then failed requests while one of two replicas' machine is killed under load.
# Usage: benchmarks/gateway/run.sh [--duration 10] [--warmup 2] [--failovers 10] [--connections 32] [--threads 2] [--hold]
# Two wrk tables: under load (-t threads -c connections; on a shared 2-core machine its p50 is mostly queueing) and at
# one connection (-t1 -c1: what one request pays per path). Each row is preceded by --warmup seconds of the same load,
# not measured, so no path is measured while its JIT is still compiling.
# --hold: set the cluster up, print its URLs and process ids, and keep it running (for wrk and perf by hand) until
# interrupted; nothing is measured.
set -euo pipefail
cd "$(dirname "$0")/../.."
duration=10; warmup=2; failovers=10; connections=32; threads=2; hold=no
while [ $# -gt 0 ]; do case "$1" in
  --duration) duration=$2; shift 2;; --warmup) warmup=$2; shift 2;; --failovers) failovers=$2; shift 2;;
  --connections) connections=$2; shift 2;; --threads) threads=$2; shift 2;; --hold) hold=yes; shift;;
  *) echo "unknown option $1 (use --duration S, --warmup S, --failovers N, --connections N, --threads N, --hold)"; exit 2;; esac; done
scripts/install-bench-deps.sh
for tool in wrk turnserver curl python3; do command -v $tool >/dev/null || { echo "$tool is missing: run scripts/install-bench-deps.sh as root"; exit 1; }; done
# Release builds, rebuilt (incrementally) every run so a stale binary is never measured
host=artifacts/bin/VirtualCluster.Host.Console/release/VirtualCluster.Host.Console.dll
hello=artifacts/bin/HelloService/release/HelloService.dll
dotnet build -c Release samples/VirtualCluster.Host.Console >/dev/null
dotnet build -c Release samples/HelloService >/dev/null
hello=$(realpath "$hello")
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
dir=$(mktemp -d /tmp/vc-gwbench-XXXX)
pids=()
kill_machine() { # pid: freeze it and every process under it, then SIGKILL them all
  local all=$1 more; more=$(pgrep -P "$1" || true)
  while [ -n "$more" ]; do all="$all $more"; more=$(for p in $more; do pgrep -P "$p" || true; done); done
  kill -STOP $all 2>/dev/null || true; kill -KILL $all 2>/dev/null || true
}
cleanup() { for p in "${pids[@]}"; do kill_machine "$p"; done; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
start() { local name=$1; shift; "$@" >"$dir/$name.log" 2>&1 & pids+=($!); eval "pid_${name//-/_}=$!"; }
fail() { echo "$1"; for f in "$dir"/*.log; do echo "--- $f"; tail -30 "$f"; done; exit 1; }
wait_for() { # what timeout-seconds command...: poll until the command succeeds
  local what=$1 deadline=$(( $(date +%s) + $2 )); shift 2
  until "$@" >/dev/null 2>&1; do [ "$(date +%s)" -lt $deadline ] || fail "timed out waiting for $what"; sleep 0.2; done
}

help=$(dotnet "$host" gateway --help 2>&1 || true)
p2p=no; relay=no
grep -q -- '--p2p' <<<"$help" && p2p=yes
grep -q -- '--ice-transport-policy' <<<"$help" && relay=yes

api_port=$(free_port); turn_port=$(free_port)
api=http://127.0.0.1:$api_port
cp_args=()
if [ $p2p = yes ]; then
  start coturn turnserver -n --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --listening-port="$turn_port" --lt-cred-mech --user=u:p --realm=vc \
    --no-tls --no-dtls --no-cli --allow-loopback-peers --log-file=stdout --min-port=40000 --max-port=40999 --pidfile "$dir/turn.pid"
  cp_args=(--ice-server "turn:127.0.0.1:$turn_port?transport=udp" --turn-user u --turn-password p)
fi
start control-plane dotnet "$host" control-plane --data-dir "$dir/cp" --listen "$api" "${cp_args[@]}"
wait_for "the control plane" 60 test -f "$dir/cp/admin.token"
token=$(cat "$dir/cp/admin.token"); auth=(-H "Authorization: Bearer $token")
wait_for "the control plane's health" 60 curl -sf "$api/v1/health"

declare -A gw_port
gateways=(tunnel)
[ $p2p = yes ] && gateways+=(direct)
[ $relay = yes ] && gateways+=(relay)
gw_urls=()
for g in "${gateways[@]}"; do
  gw_port[$g]=$(free_port); gw_urls+=("http://127.0.0.1:${gw_port[$g]}")
  extra=()
  [ $g = tunnel ] && [ $p2p = yes ] && extra=(--p2p off)
  # on one machine every ICE candidate is a loopback one, which peer links skip unless told (as `local` does)
  [ $g = direct ] && extra=(--p2p-loopback)
  [ $g = relay ] && extra=(--p2p-loopback --ice-transport-policy relay)
  start "gw-$g" dotnet "$host" gateway --server "$api" --token-file "$dir/cp/admin.token" --listen "http://127.0.0.1:${gw_port[$g]}" "${extra[@]}"
done
gateway_list=$(IFS=,; echo "${gw_urls[*]}")
agent_p2p=(); [ $p2p = yes ] && agent_p2p=(--p2p-loopback)
agent_count=0
start_agent() { # name first-port
  start "agent-$1" dotnet "$host" agent --server "$api" --join-token-file "$dir/cp/join.token" --name "$1" --data-dir "$dir/$1" \
    --ports "$2-$(( $2 + 99 ))" --docker off --no-drain-on-shutdown --gateway "$gateway_list" "${agent_p2p[@]}"
  agent_count=$(( agent_count + 1 ))
}
alive() { curl -s "${auth[@]}" "$api/v1/nodes" | python3 -c 'import json,sys; print(sum(1 for n in json.load(sys.stdin) if n["node"]["state"].lower()=="alive"))'; }
for i in 1 2 3; do start_agent "node-$i" $(( 41000 + i * 100 )); done
alive_ge() { [ "$(alive)" -ge "$1" ]; }
wait_for "3 agents" 90 alive_ge 3
tunnels() { curl -s "http://127.0.0.1:$1/v1/gateway/routes" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["tunnels"]))'; }
tunnels_ge() { [ "$(tunnels "$1")" -ge "$2" ]; }
for g in "${gateways[@]}"; do wait_for "3 tunnels to gw-$g" 90 tunnels_ge "${gw_port[$g]}" 3; done

deploy() { # name replicas
  curl -sf "${auth[@]}" -X POST "$api/v1/services" --data-binary @- >/dev/null <<JSON
{ "name": "$1", "command": "dotnet", "args": ["$hello"], "replicas": $2, "resources": { "cpu": "100m", "memory": "64Mi" },
  "ports": [{ "name": "http" }], "placement": { "antiAffinity": "required" },
  "healthCheck": { "type": "http", "port": "http", "path": "/health", "interval": "1s", "gracePeriod": "60s" } }
JSON
  wait_for "$1 to run" 120 running "$1"
}
service() { curl -s "${auth[@]}" "$api/v1/services/$1"; }
running() { [ "$(service "$1" | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["running"]==v["desired"])')" = True ]; }
deploy bench 1
view=$(service bench)
port=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["instances"][0]["instance"]["ports"]["http"])' <<<"$view")
node=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["instances"][0]["nodeName"])' <<<"$view")
node_id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["instances"][0]["instance"]["nodeId"])' <<<"$view")
answers() { curl -sf -H "Host: bench.localhost:$1" "http://127.0.0.1:$1/" | grep -q "on $node"; }
link_path() { # gateway-port node-id: the path of the gateway's link to the node (peer-link builds only)
  curl -s "http://127.0.0.1:$1/v1/gateway/links" | python3 -c "import json,sys; print(next((l['path'] for l in json.load(sys.stdin) if l['node']=='$2'), 'none'))"
}
link_is() { [ "$(link_path "$1" "$2")" = "$3" ]; }
declare -A want=([tunnel]=tunnel [direct]=direct [relay]=relayed)
for g in "${gateways[@]}"; do
  wait_for "bench through gw-$g" 60 answers "${gw_port[$g]}"
  if [ $p2p = yes ]; then
    wait_for "gw-$g's link to $node to be ${want[$g]}" 60 link_is "${gw_port[$g]}" "$node_id" "${want[$g]}"
  fi
done

if [ $hold = yes ]; then
  echo "direct: http://127.0.0.1:$port/  (instance on $node, node id $node_id)"
  for g in "${gateways[@]}"; do echo "gw-$g: http://127.0.0.1:${gw_port[$g]}/ (Host: bench.localhost:${gw_port[$g]}) pid $(eval echo \$pid_gw_$g)"; done
  for i in 1 2 3; do echo "agent node-$i pid $(eval echo \$pid_agent_node_$i)"; done
  echo "holding; interrupt to stop"; while true; do sleep 3600; done
fi
echo "# Gateway benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
[ $p2p = yes ] || echo "(this build has no peer links: gateway --p2p is missing, so only the tunnel is measured)"
[ $p2p = yes ] && [ $relay = no ] && echo "(this build cannot force the relay: gateway --ice-transport-policy is missing, so no relayed row)"
wrk_row() { # threads connections label size url [host-header] -> "label|size|rps|p50|p99|errors"
  local t=$1 c=$2; shift 2
  # Warm-up with the same settings, not measured: every path's JIT reaches its steady code before its row.
  [ "$warmup" -gt 0 ] && wrk -t"$t" -c"$c" -d"${warmup}s" ${4:+-H "Host: $4"} "$3" >/dev/null
  local out; out=$(wrk -t"$t" -c"$c" -d"${duration}s" --latency ${4:+-H "Host: $4"} "$3")
  python3 - "$1" "$2" "$out" <<'PY'
import re,sys
label,size,out=sys.argv[1:]
rps=float(re.search(r"Requests/sec:\s+([\d.]+)",out).group(1))
def ms(p):
    m=re.search(p+r"%\s+([\d.]+)(us|ms|s)\b",out); v=float(m.group(1)); return v/1000 if m.group(2)=="us" else v*1000 if m.group(2)=="s" else v
bad=sum(int(x) for x in re.findall(r"Non-2xx or 3xx responses: (\d+)",out))
bad+=sum(int(x) for x in re.findall(r"\b(?:connect|read|write|timeout) (\d+)",out))
print(f"{label}|{size}|{rps:.0f}|{ms('50'):.3f}|{ms('99'):.3f}|{bad}")
PY
}
table() { # rows on stdin -> a markdown table with ratios and p50 added against the "direct to" row of each size
  python3 -c '
import sys
rows=[l.strip().split("|") for l in sys.stdin if l.strip()]
ref={r[1]:r for r in rows if r[0].startswith("direct to")}
print("| path | response | requests/s | p50 ms | p99 ms | errors | throughput vs direct | p50 added |")
print("|---|---|---|---|---|---|---|---|")
for label,size,rps,p50,p99,bad in rows:
    d=ref[size]; kib=int(size)//1024
    ratio="1 (reference)" if label.startswith("direct to") else f"{float(rps)/float(d[2]):.0%}"
    added="" if label.startswith("direct to") else f"{float(p50)-float(d[3]):+.2f} ms"
    print(f"| {label} | {kib} KiB | {float(rps):,.0f} | {float(p50):.2f} | {float(p99):.2f} | {bad} | {ratio} | {added} |")'
}
declare -A label=([tunnel]="gateway, TCP tunnel" [direct]="gateway, direct P2P link" [relay]="gateway, relayed P2P link (TURN)")
measure() { # threads connections: one row per path and size
  local rows=()
  for size in 1024 102400; do
    rows+=("$(wrk_row "$1" "$2" "direct to the instance" $size "http://127.0.0.1:$port/bytes/$size")")
    for g in "${gateways[@]}"; do
      rows+=("$(wrk_row "$1" "$2" "${label[$g]}" $size "http://127.0.0.1:${gw_port[$g]}/bytes/$size" "bench.localhost:${gw_port[$g]}")")
    done
  done
  printf '%s\n' "${rows[@]}" | table
}
echo; echo "## Throughput under load: wrk -t$threads -c$connections -d${duration}s --latency (after ${warmup}s warm-up), HelloService /bytes/N, one instance"
echo "(p50 here is mostly queueing: $connections connections and every process share the machine's $(nproc) cores)"
measure "$threads" "$connections"
echo "load average after the throughput runs: $(cut -d' ' -f1-3 /proc/loadavg)"
echo; echo "## Latency at one connection: wrk -t1 -c1 -d${duration}s --latency (after ${warmup}s warm-up): the cost one request pays per path"
measure 1 1
echo "load average after the one-connection runs: $(cut -d' ' -f1-3 /proc/loadavg)"

# Failover through the product's default gateway: peer links when the build has them, the tunnel otherwise.
fg=tunnel; [ $p2p = yes ] && fg=direct
echo; echo "## Healthy -> stable URL answers after kill -9 of the singleton's machine (through gw-$fg, $failovers runs)"
delays=()
for run in $(seq 1 "$failovers"); do
  view=$(service bench)
  read -r old_id old_node <<<"$(python3 -c 'import json,sys; v=json.load(sys.stdin); i=v["instances"][0]; print(i["instance"]["id"], i["nodeName"])' <<<"$view")"
  victim_pid=pid_agent_${old_node//-/_}
  kill_machine "${!victim_pid}"
  # Two pollers side by side: the control plane (healthy = a new instance Running) and the stable URL.
  result=$(python3 - "$api" "$token" "${gw_port[$fg]}" "$old_id" <<'PY'
import json,sys,time,threading,urllib.request
api,token,gw,old=sys.argv[1:]
t={}; deadline=time.time()+120
def cp():
    while "healthy" not in t and time.time()<deadline:
        try:
            r=urllib.request.Request(api+"/v1/services/bench",headers={"Authorization":"Bearer "+token})
            v=json.load(urllib.request.urlopen(r,timeout=2))
            if any(i["instance"]["state"].lower()=="running" and i["instance"]["id"]!=old for i in v["instances"]): t["healthy"]=time.time()
        except Exception: pass
        time.sleep(0.005)
def url():
    while "answered" not in t and time.time()<deadline:
        r=urllib.request.Request(f"http://127.0.0.1:{gw}/",headers={"Host":f"bench.localhost:{gw}"})
        try:
            who=urllib.request.urlopen(r,timeout=2).read().decode().split()[2]
            if who!=old: t["answered"]=time.time()
        except Exception: pass
        time.sleep(0.005)
ts=[threading.Thread(target=f) for f in (cp,url)]; [x.start() for x in ts]; [x.join() for x in ts]
print(f"{(t['answered']-t['healthy'])*1000:.0f}" if len(t)==2 else "timeout")
PY
)
  echo "run $run: killed $old_node ($old_id); the URL answered $result ms after the new instance was reported healthy"
  [ "$result" != timeout ] && delays+=("$result")
  # Back to three nodes for the next run: a fresh agent (new name and data) serving every gateway.
  start_agent "spare-$run" $(( 45000 + run * 100 ))
  wait_for "3 live nodes" 90 alive_ge 3
  for g in "${gateways[@]}"; do wait_for "3 tunnels to gw-$g" 90 tunnels_ge "${gw_port[$g]}" 3; done
done
printf '%s\n' "${delays[@]}" | python3 -c 'import sys,statistics; v=[float(x) for x in sys.stdin if x.strip()]; print(f"median {statistics.median(v):.0f} ms, best {min(v):.0f} ms, worst {max(v):.0f} ms over {len(v)} runs" if v else "no run finished")'

echo; echo "## Failed requests while one of two replicas' machine is killed (4 clients through gw-$fg)"
deploy bench2 2
for g in "${gateways[@]}"; do wait_for "bench2 through gw-$g" 60 curl -sf -H "Host: bench2.localhost:${gw_port[$g]}" "http://127.0.0.1:${gw_port[$g]}/"; done
python3 - "${gw_port[$fg]}" "$dir/load.started" >"$dir/load.out" <<'PY' &
import sys,time,urllib.request,threading
gw,marker=sys.argv[1:]; ok=fail=0; stop=time.time()+25; lock=threading.Lock()
def loop():
    global ok,fail
    while time.time()<stop:
        r=urllib.request.Request(f"http://127.0.0.1:{gw}/",headers={"Host":f"bench2.localhost:{gw}"})
        try: urllib.request.urlopen(r,timeout=5).read(); good=True
        except Exception: good=False
        with lock:
            if good: ok+=1
            else: fail+=1
            if ok==200: open(marker,"w").close()
ts=[threading.Thread(target=loop) for _ in range(4)]; [t.start() for t in ts]; [t.join() for t in ts]
print(f"{ok+fail} requests, {fail} failed")
PY
load=$!
wait_for "200 answered requests before the kill" 20 test -f "$dir/load.started"
victim=$(service bench2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["instances"][0]["nodeName"])')
victim_pid=pid_agent_${victim//-/_}
kill_machine "${!victim_pid}"; echo "killed $victim"
wait $load
cat "$dir/load.out"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
