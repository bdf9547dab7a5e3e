#!/bin/sh
# Device, edge and cloud as three processes on this host (loopback), as
# they would run on three hosts: runs N recorded FMV-6 test samples through
# them and prints accuracy by tier, the bytes that crossed each link and
# what raw offload (the frames themselves) would have needed.
#
# usage: pipelines/three-hosts.sh [-n SAMPLES] [-m MODEL] [-o DIR] [-f]
#
# -f: features on demand (the cameras send scores alone; features only for
# the samples the edge cannot answer).
#
# DIR (default build/three-hosts) gets cloud.jsonl, edge.jsonl (every
# answer, as the edge learned it), devices.jsonl (every answer, as the
# cameras' host learned it) and the three logs.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/pipelines/where.sh"
n=500 model=$here/models/fmv6-binary.safetensors out=$build/three-hosts
# a token of this run, given to the three processes through the environment
export DDNN_TOKEN=${DDNN_TOKEN:-ddnn-$$-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')}
on_demand=
while getopts n:m:o:fh opt; do
  case $opt in
    n) n=$OPTARG ;; m) model=$OPTARG ;; o) out=$OPTARG ;;
    f) on_demand=-f ;; *) sed -n '2,14p' "$0"; exit 2 ;;
  esac
done
mkdir -p "$out"
rm -f "$out"/*.jsonl "$out"/*.log
data=$build/fmv6-$n
video=$data/video
[ -f "$video/labels.csv" ] ||
  "$ddnn" dataset fmv --out "$data" --seed 1 --limit "$n" --video "$video" >/dev/null

. "$here/pipelines/common.sh"
pids=
trap 'kill $pids 2>/dev/null || true' EXIT INT TERM
"$here/pipelines/cloud.sh" -m "$model" -o "$out/cloud.jsonl" > "$out/cloud.log" 2>&1 &
pids="$pids $!"
cloud_port=$(port_of "$out/cloud.log")
"$here/pipelines/edge.sh" -u "ws://127.0.0.1:$cloud_port/ddnn" -m "$model" \
  -o "$out/edge.jsonl" > "$out/edge.log" 2>&1 &
edge_pid=$!
pids="$pids $edge_pid"
edge_port=$(port_of "$out/edge.log")
start=$(date +%s.%N)
"$here/pipelines/devices.sh" -u "ws://127.0.0.1:$edge_port/ddnn" -d "$video" \
  -m "$model" -o "$out/devices.jsonl" $on_demand > "$out/devices.log" 2>&1
end=$(date +%s.%N)
# the edge ends its stream (EOS), so its link to the cloud reports its bytes
kill -INT "$edge_pid"
wait "$edge_pid" 2>/dev/null || true
up=$(link_bytes "$out/devices.log" wire-up)
down=$(link_bytes "$out/devices.log" wire-down)
next_=$(link_bytes "$out/edge.log" wire-up)
payload=$(link_bytes "$out/devices.log" payload-bytes)
answers "$out/devices.jsonl" |
awk -F'\t' -v t0="$start" -v t1="$end" -v n="$n" -v labels="$video/labels.csv" \
  -v up="$up" -v down="$down" -v next_="$next_" -v payload="$payload" '
  BEGIN { while ((getline line < labels) > 0) { split(line, f, ","); label[f[1]] = f[2] } }
  { s = $1; c = $2; t = $3; k[t]++; ok[t] += (c == label[s]); total++; right += (c == label[s]) }
  END {
    printf "%d of %d samples answered at the cameras'"'"' host in %.2f s\n", total, n, t1 - t0
    for (t in k) printf "  %-18s %5d (%5.1f %%), %5.1f %% right\n", t, k[t], 100 * k[t] / total, 100 * ok[t] / k[t]
    printf "  overall            %5.1f %% right\n", 100 * right / total
    printf "bytes on the wire, all framing included: cameras -> edge %d (%.1f B/sample, %.1fx below raw), edge -> cameras %d (%.1f B/sample: acks, answers, requests, beats), edge -> cloud %d (%.1f B/sample)\n", up, up / n, 6144 * n / up, down, down / n, next_, next_ / n
    printf "  of which scores and features (the rest is framing: link frame and WebSocket headers, beats, handshakes): cameras -> edge %.1f B/sample, %.1fx below raw\n", payload / n, 6144 * n / payload
    printf "raw offload (6 x 32 x 32 grey frames): %d B/sample, %.1fx more than sent\n", 6144, 6144 * n / (up + next_)
  }'
