#!/bin/sh
# The one-host DDNN: six recorded FMV-6 cameras -> 6 ddnndevice ->
# ddnnaggregate -> ddnnexit -> exit (answered locally) | ddnncloud.
#
# usage: pipelines/one-host.sh [-n SAMPLES] [-m MODEL] [-t THRESHOLD] [-o RESULTS.jsonl]
#
# Builds the recorded videos of the first SAMPLES FMV-6 test samples (data
# seed 1) under build/ when they are missing, runs the pipeline, writes every
# answer as a JSON line and prints accuracy by tier against labels.csv.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/pipelines/where.sh"
samples=500
model=$here/models/fmv6-binary.safetensors
threshold=
results=$build/one-host-results.jsonl
while getopts n:m:t:o:h opt; do
  case $opt in
    n) samples=$OPTARG ;;
    m) model=$OPTARG ;;
    t) threshold=$OPTARG ;;
    o) results=$OPTARG ;;
    *) sed -n '2,11p' "$0"; exit 2 ;;
  esac
done
command -v "$ddnn" >/dev/null || { echo "no ddnn tool: build first (make -C $here), or install" >&2; exit 1; }
data=$build/fmv6-$samples
video=$data/video
if [ ! -f "$video/labels.csv" ]; then
  "$ddnn" dataset fmv --out "$data" --seed 1 --limit "$samples" --video "$video" >/dev/null
fi
rm -f "$results"
set -- ddnnaggregate name=fuse "model=$model" ! \
  ddnnexit name=exit ${threshold:+"threshold=$threshold"} "model=$model" "results=$results" \
  exit.exit ! fakesink async=false \
  exit.next ! ddnncloud "model=$model" "results=$results" ! fakesink async=false
for v in 0 1 2 3 4 5; do
  set -- "$@" filesrc "location=$video/cam$v.mkv" ! matroskademux ! \
    ddnndevice "model=$model" "view=$v" ! fuse.
done
start=$(date +%s.%N)
GST_PLUGIN_PATH=$build/plugins/ddnn${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH} \
  gst-launch-1.0 -q "$@"
end=$(date +%s.%N)
. "$here/pipelines/common.sh"
answers "$results" |
awk -F'\t' -v labels="$video/labels.csv" -v results="$results" -v t0="$start" -v t1="$end" -v T="${threshold:-the model's}" '
  BEGIN { while ((getline line < labels) > 0) { split(line, f, ","); label[f[1]] = f[2] } }
  { s = $1; c = $2; t = $3; n[t]++; right[t] += (c == label[s]); total++; ok += (c == label[s]) }
  END {
    printf "%d samples at threshold %s in %.2f s (%.0f samples/s)\n", total, T, t1 - t0, total / (t1 - t0)
    for (t in n) printf "  %-7s %5d answered (%5.1f %%), %5.1f %% right\n", t, n[t], 100 * n[t] / total, 100 * right[t] / n[t]
    printf "  overall %5.1f %% right; answers in %s\n", 100 * ok / total, results
  }'
