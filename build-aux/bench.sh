#!/bin/sh
# `make bench`: the engine's batch-1 latencies beside the sgemm rate, and
# beside PyTorch where Debian's python3-torch is installed.  Everything is
# measured in this one run, on this machine; see tests/benchmarks/README.md.
set -eu
build=${1:-build}
runs=${BENCH_RUNS:-5000}
out=$(mktemp)
trap 'rm -f "$out" "$out.torch"' EXIT

"$build/tests/benchmarks/bench-engine" models/fmv6-paper.json "$runs" | tee "$out" | grep -v '^@'

if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo
  /usr/bin/python3 tests/benchmarks/bench_torch.py "$runs" > "$out.torch"
  head -n 1 "$out.torch"
  printf '%-16s %12s %12s %10s\n' section "ddnn us" "torch us" "torch/ddnn"
  grep '^@' "$out" | while read -r key ours; do
    key=${key#@}
    theirs=$(grep "^@$key " "$out.torch" | cut -d' ' -f2)
    awk -v k="$key" -v a="$ours" -v b="$theirs" \
      'BEGIN { printf "%-16s %12.2f %12.2f %9.1fx\n", k, a, b, b / a }'
  done
else
  echo "(python3-torch is not installed: no PyTorch comparison)"
fi
