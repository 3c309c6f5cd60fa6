#!/usr/bin/env bash
# Runs every test project of the solution, one after another, and prints "N passed, N failed, N skipped".
# Needs only the .NET SDK; when run as root it also installs and starts the system services that later
# integration tests use (see scripts/install-deps.sh).
set -uo pipefail
cd "$(dirname "$0")"
results="artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

if [ -x scripts/install-deps.sh ]; then
  scripts/install-deps.sh || { echo "test.sh: installing dependencies failed" >&2; exit 1; }
fi
[ -x scripts/install-p2p-deps.sh ] && { scripts/install-p2p-deps.sh || { echo "test.sh: installing P2P dependencies failed" >&2; exit 1; }; }
if [ -x scripts/install-etcd.sh ]; then scripts/install-etcd.sh || { echo "test.sh: installing etcd failed" >&2; exit 1; }; fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
if ! dotnet build VirtualCluster.Sdk.sln -c Debug -nologo -v minimal; then
  echo "test.sh: build failed" >&2
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi

status=0
for project in tests/*/*.csproj; do
  name=$(basename "$project" .csproj)
  echo "=== $name"
  dotnet test "$project" -c Debug --no-build --nologo \
    --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=normal" \
    --results-directory "$results" --blame-hang-timeout 10m || status=1
  [ -f "$results/$name.trx" ] || { echo "test.sh: $name produced no results (crashed?)" >&2; status=1; }
done

scripts/test-summary.sh "$results" || status=1
exit $status
