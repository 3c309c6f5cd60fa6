#!/usr/bin/env bash
# Sums the counters of every TRX file in a folder and prints "N passed, N failed, N skipped".
# Exits 1 when there are no results or any test failed.
set -uo pipefail
dir="${1:-artifacts/test-results}"
shopt -s nullglob
files=("$dir"/*.trx)
if [ ${#files[@]} -eq 0 ]; then
  echo "0 passed, 0 failed, 0 skipped (no test results in $dir)"
  exit 1
fi
attr() { grep -o "<Counters [^>]*" "$1" | grep -o " $2=\"[0-9]*\"" | grep -o "[0-9]*" || echo 0; }
passed=0 failed=0 total=0
for f in "${files[@]}"; do
  t=$(attr "$f" total); p=$(attr "$f" passed)
  fl=$(( $(attr "$f" failed) + $(attr "$f" error) + $(attr "$f" timeout) + $(attr "$f" aborted) ))
  total=$((total + t)); passed=$((passed + p)); failed=$((failed + fl))
done
skipped=$((total - passed - failed))
# Name the failed tests just above the summary, so the tail of a CI log says what broke.
if [ "$failed" -gt 0 ]; then
  for f in "${files[@]}"; do
    grep -o '<UnitTestResult [^>]*outcome="\(Failed\|Error\|Timeout\|Aborted\)"[^>]*' "$f" \
      | grep -o 'testName="[^"]*"' | sed 's/^testName="/FAILED: /; s/"$//'
  done
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$total" -gt 0 ]
