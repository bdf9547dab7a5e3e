#!/bin/sh
# `make bench`: the engine's batch-1 latencies beside the sgemm rate, and
# beside PyTorch where Debian's python3-torch is installed.  Everything is
# measured in this one run, on this machine; see tests/benchmarks/README.md.
set -eu
build=${1:-build}
runs=${BENCH_RUNS:-5000}
out=$(mktemp)
trap 'rm -f "$out" "$out.torch" "$out.model"' EXIT

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

# Training: one epoch of each arch on the first $train_n FMV-6 training
# samples, batch and threads as the arch and one thread; samples/s, and the
# same network in PyTorch where it is installed.
train_n=${BENCH_TRAIN_SAMPLES:-4000}
data="$build/bench-fmv6"
[ -f "$data/train.safetensors" ] || "$build/tools/ddnn" dataset fmv --out "$data" --limit "$train_n" >/dev/null
echo
echo "# training, one epoch on $train_n FMV-6 samples (samples/s; a full 60 000-sample epoch takes 60 000 / that): ddnn and PyTorch with 1 thread, ddnn with 2"
printf '%-14s %12s %12s %10s %12s %10s\n' arch "ddnn 1t" "torch 1t" "ddnn/torch" "ddnn 2t" "2t/1t"
for arch in paper binary float edge; do
  rate() {
    "$build/tools/ddnn" train --data "$data" --arch "models/fmv6-$arch.json" --epochs 1 \
      --validate 0 --threads "$1" --out "$out.model" | grep '^epoch' |
      sed -n 's/.* \([0-9.]*\) samples\/s.*/\1/p'
  }
  ours=$(rate 1)
  two=$(rate 2)
  theirs=-
  if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    theirs=$(/usr/bin/python3 tests/benchmarks/bench_train_torch.py "models/fmv6-$arch.json" \
      "$data" "$train_n" 1 | sed -n 's/^@train //p')
  fi
  awk -v k="fmv6-$arch" -v a="$ours" -v b="$theirs" -v t="$two" \
    'BEGIN { if (b == "-") printf "%-14s %12.0f %12s %10s %12.0f %9.2fx\n", k, a, "-", "-", t, t / a;
             else printf "%-14s %12.0f %12.0f %9.2fx %12.0f %9.2fx\n", k, a, b, a / b, t, t / a }'
done
rm -f "$out.model"

# Importing pictures (tests/benchmarks/bench_import.py).
echo
/usr/bin/python3 tests/benchmarks/bench_import.py "$build/tools/ddnn"

# Each element's per-buffer cost beyond its compute (tests/benchmarks/bench-elements.c).
echo
GST_PLUGIN_PATH=$build/plugins/ddnn${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH} \
  "$build/tests/benchmarks/bench-elements" models/fmv6-binary.safetensors

# The DDNN link over loopback (tests/benchmarks/bench-link.c).
echo
GST_PLUGIN_PATH=$build/plugins/ddnn:$build/plugins/ddnnnet${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH} \
  "$build/tests/benchmarks/bench-link"

# The one-host pipeline on recorded video beside a one-thread engine doing
# the same work on the same samples, in one process and one run
# (tests/benchmarks/bench-pipeline.c).
n=${BENCH_PIPELINE_SAMPLES:-2000}
data="$build/fmv6-$n"
[ -f "$data/video/labels.csv" ] ||
  "$build/tools/ddnn" dataset fmv --out "$data" --seed 1 --limit "$n" --video "$data/video" >/dev/null
echo
GST_PLUGIN_PATH=$build/plugins/ddnn${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH} \
  "$build/tests/benchmarks/bench-pipeline" models/fmv6-binary.safetensors "$data" "$data/video" "$n"

# The cloud pool behind HAProxy: 1 and 2 instances (tests/benchmarks/bench_pool.py).
echo
if command -v haproxy >/dev/null; then
  BUILD=$build /usr/bin/python3 tests/benchmarks/bench_pool.py "$build" .
else
  echo "(haproxy is not installed: no cloud pool figures)"
fi
