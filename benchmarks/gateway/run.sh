#!/usr/bin/env bash
# Gateway benchmark: wrk through the gateway (tunnel) and straight to the instance, in the same run; the time from
# a new instance being healthy (as the control plane reports it) to the stable URL answering from it after a
# failover; failed requests while one replica's machine is killed. Starts its own `local` cluster on free ports in
# a temp directory and stops it at the end. Usage: benchmarks/gateway/run.sh [--duration 10] [--failovers 10]
set -euo pipefail
cd "$(dirname "$0")/../.."
duration=10; failovers=10
while [ $# -gt 0 ]; do case "$1" in --duration) duration=$2; shift 2;; --failovers) failovers=$2; shift 2;; *) echo "unknown option $1"; exit 2;; esac; done
scripts/install-bench-deps.sh
command -v wrk >/dev/null || { echo "wrk is missing: run scripts/install-bench-deps.sh as root"; exit 1; }
host=artifacts/bin/VirtualCluster.Host.Console/debug/VirtualCluster.Host.Console.dll
[ -f "$host" ] || dotnet build samples/VirtualCluster.Host.Console >/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
dir=$(mktemp -d /tmp/vc-gwbench-XXXX); api_port=$(free_port); gw_port=$(free_port)
export VCLUSTER_CONFIG=$dir/cli.json
dotnet "$host" local --data-dir "$dir" --port "$api_port" --gateway-port "$gw_port" --agents 3 --service-ports 50000 --docker off >"$dir/local.log" 2>&1 &
local_pid=$!
restarted=()
kill_machine() { # agent pid: freeze and SIGKILL it and every process under it
  local pids=$1 more; more=$(pgrep -P "$1" || true)
  while [ -n "$more" ]; do pids="$pids $more"; more=$(for p in $more; do pgrep -P "$p" || true; done); done
  kill -STOP $pids 2>/dev/null || true; kill -KILL $pids 2>/dev/null || true
}
cleanup() {
  for p in "${restarted[@]}"; do kill_machine "$p"; done
  kill -TERM $local_pid 2>/dev/null || true; wait $local_pid 2>/dev/null || true; rm -rf "$dir"
}
trap cleanup EXIT
until grep -q "local cluster ready" "$dir/local.log"; do kill -0 $local_pid || { cat "$dir/local.log"; exit 1; }; sleep 0.5; done
api=http://127.0.0.1:$api_port; token=$(cat "$dir/control-plane/admin.token")
auth=(-H "Authorization: Bearer $token")
hello=$(realpath artifacts/bin/HelloService/debug/HelloService.dll)
deploy() { # name replicas
  curl -sf "${auth[@]}" -X POST "$api/v1/services" --data-binary @- >/dev/null <<JSON
{ "name": "$1", "command": "dotnet", "args": ["$hello"], "replicas": $2, "resources": { "cpu": "100m", "memory": "64Mi" },
  "ports": [{ "name": "http" }], "placement": { "antiAffinity": "required" },
  "healthCheck": { "type": "http", "port": "http", "path": "/health", "interval": "1s", "gracePeriod": "60s" } }
JSON
  until [ "$(curl -s "${auth[@]}" "$api/v1/services/$1" | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["running"]==v["desired"])')" = True ]; do sleep 0.5; done
}
services() { curl -s "${auth[@]}" "$api/v1/services/$1"; }

echo "## throughput (wrk -t2 -c32 -d${duration}s)"
deploy bench 1
port=$(services bench | python3 -c 'import json,sys; print(json.load(sys.stdin)["instances"][0]["instance"]["ports"]["http"])')
until curl -sf -H "Host: bench.localhost:$gw_port" "http://127.0.0.1:$gw_port/" >/dev/null; do sleep 0.2; done
wrk_row() { # label url host-header
  local out; out=$(wrk -t2 -c32 -d"${duration}s" --latency ${3:+-H "Host: $3"} "$2")
  python3 - "$1" <<PY "$out"
import re,sys
label,out=sys.argv[1],sys.argv[2]
rps=float(re.search(r"Requests/sec:\s+([\d.]+)",out).group(1))
def ms(p):
    m=re.search(p+r"%\s+([\d.]+)(us|ms|s)\b",out); v=float(m.group(1)); return v/1000 if m.group(2)=="us" else v*1000 if m.group(2)=="s" else v
errors=re.search(r"Non-2xx or 3xx responses: (\d+)",out)
print(f"| {label} | {rps:,.0f} | {ms('50'):.2f} | {ms('99'):.2f} | {errors.group(1) if errors else 0} |")
PY
}
echo "| path | requests/s | p50 ms | p99 ms | non-2xx |"; echo "|---|---|---|---|---|"
for size in 1024 102400; do
  wrk_row "direct, $((size/1024)) KiB" "http://127.0.0.1:$port/bytes/$size"
  wrk_row "gateway + tunnel, $((size/1024)) KiB" "http://127.0.0.1:$gw_port/bytes/$size" "bench.localhost:$gw_port"
done

echo; echo "## healthy -> URL answers after a failover (runs: $failovers)"
agent_of() { pgrep -f -- "--name $1 --data-dir $dir/" | head -1; }
delays=()
for run in $(seq 1 "$failovers"); do
  view=$(services bench)
  old=$(echo "$view" | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["instances"][0]["instance"]["id"], v["instances"][0]["nodeName"])')
  read -r old_id old_node <<<"$old"
  [ "$(services bench | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["instances"]))')" = 1 ] || true
  kill_machine "$(agent_of "$old_node")"
  # Poll the control plane and the URL side by side; healthy = the control plane lists a new instance running.
  result=$(python3 - "$api" "$token" "$gw_port" "$old_id" <<'PY'
import json,sys,time,urllib.request
api,token,gw,old=sys.argv[1:]
def cp():
    r=urllib.request.Request(api+"/v1/services/bench",headers={"Authorization":"Bearer "+token})
    v=json.load(urllib.request.urlopen(r,timeout=2))
    return [i["instance"]["id"] for i in v["instances"] if i["instance"]["state"]=="Running" and i["instance"]["id"]!=old]
def url():
    r=urllib.request.Request(f"http://127.0.0.1:{gw}/",headers={"Host":f"bench.localhost:{gw}"})
    try: return urllib.request.urlopen(r,timeout=2).read().decode().split()[2]
    except Exception: return None
healthy=answered=None; new=None; deadline=time.time()+120
while time.time()<deadline and (healthy is None or answered is None):
    now=time.time()
    if healthy is None:
        try:
            ids=cp()
            if ids: healthy,new=now,ids[0]
        except Exception: pass
    who=url()
    if answered is None and who is not None and who!=old: answered=time.time(); new=new or who
    time.sleep(0.02)
print(f"{(answered-healthy)*1000:.0f}" if healthy and answered else "timeout")
PY
)
  echo "run $run: killed $old_node ($old_id); URL answered $result ms after the new instance was reported healthy"
  [ "$result" != timeout ] && delays+=("$result")
  # Bring the node count back for the next run: a fresh agent (new name, new data) with the flags `local` uses.
  dotnet "$host" agent --server "$api" --join-token-file "$dir/control-plane/join.token" --name "spare-$run" --data-dir "$dir/spare-$run" \
    --ports "$((51000 + run * 100))-$((51000 + run * 100 + 99))" --docker off --no-drain-on-shutdown --gateway "http://127.0.0.1:$gw_port" >"$dir/spare-$run.log" 2>&1 &
  restarted+=($!)
  until [ "$(curl -s "${auth[@]}" "$api/v1/nodes" | python3 -c 'import json,sys; print(sum(1 for n in json.load(sys.stdin) if n["node"]["state"]=="Alive"))')" -ge 3 ]; do sleep 0.5; done
done
printf '%s\n' "${delays[@]}" | python3 -c 'import sys,statistics; v=[float(x) for x in sys.stdin if x.strip()]; print(f"median {statistics.median(v):.0f} ms, worst {max(v):.0f} ms over {len(v)} runs" if v else "no run finished")'

echo; echo "## failed requests while a replica's machine is killed"
deploy bench2 2
python3 - "$gw_port" <<'PY' &
import sys,time,urllib.request,threading
gw=sys.argv[1]; ok=fail=0; stop=time.time()+25; lock=threading.Lock()
def loop():
    global ok,fail
    while time.time()<stop:
        r=urllib.request.Request(f"http://127.0.0.1:{gw}/",headers={"Host":f"bench2.localhost:{gw}"})
        try: urllib.request.urlopen(r,timeout=5).read(); good=True
        except Exception: good=False
        with lock:
            if good: ok+=1
            else: fail+=1
ts=[threading.Thread(target=loop) for _ in range(4)]; [t.start() for t in ts]; [t.join() for t in ts]
print(f"{ok+fail} requests, {fail} failed")
PY
load=$!
sleep 5
victim=$(services bench2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["instances"][0]["nodeName"])')
kill_machine "$(agent_of "$victim")"; echo "killed $victim"
wait $load
