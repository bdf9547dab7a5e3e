#!/bin/sh
# `make demo`: the DDNN as it is meant to run, on this one machine: six
# recorded FMV-6 cameras on one "host", the edge on another, the cloud on a
# third (three processes linked over loopback WebSockets), with the shipped
# binary model and features on demand.  A live line shows progress; a
# summary table, the answers (JSON lines), a mosaic video of the cameras
# with each answer overlaid, and the threshold sweep are left in build/demo.
#
# DEMO_SAMPLES (default 300) recorded test samples; DEMO_RATE (default 100)
# samples a second from the cameras (0: as fast as they decode); DEMO_OUT
# (default build/demo) where the files go.
set -eu
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
export BUILD=$here/$build
case $build in /*) export BUILD=$build ;; esac
n=${DEMO_SAMPLES:-300}
rate=${DEMO_RATE:-100}
model=$here/models/fmv6-binary.safetensors
out=${DEMO_OUT:-$BUILD/demo}
data=$out/fmv6
video=$data/video
ddnn=$BUILD/tools/ddnn
mkdir -p "$out"
rm -f "$out"/*.jsonl "$out"/*.log

echo "ddnn-gst demo: $("$ddnn" inspect "$model" | head -n 1)"
if [ ! -f "$video/labels.csv" ] || [ "$(($(wc -l < "$video/labels.csv") - 1))" != "$n" ]; then
  echo "making $n recorded FMV-6 test samples (six camera videos) in $video"
  "$ddnn" dataset fmv --out "$data" --seed 1 --limit "$n" --video "$video" >/dev/null
fi

. "$here/pipelines/common.sh"
pids=
trap 'kill $pids 2>/dev/null || true' EXIT INT TERM
export DDNN_TOKEN=demo-$$
"$here/pipelines/cloud.sh" -m "$model" > "$out/cloud.log" 2>&1 &
cloud=$!; pids="$pids $cloud"
cport=$(port_of "$out/cloud.log")
"$here/pipelines/edge.sh" -u "ws://127.0.0.1:$cport/ddnn" -m "$model" \
  -o "$out/edge.jsonl" > "$out/edge.log" 2>&1 &
edge=$!; pids="$pids $edge"
eport=$(port_of "$out/edge.log")
echo "cloud on port $cport, edge on port $eport; six cameras send scores, and features only when asked"
start=$(date +%s.%N)
"$here/pipelines/devices.sh" -u "ws://127.0.0.1:$eport/ddnn" -d "$video" \
  -m "$model" -r "$rate" -f -o "$out/results.jsonl" > "$out/devices.log" 2>&1 &
devices=$!; pids="$pids $devices"

# what the cameras send for a sample, as the link carries it: 6 scores
# frames (12 B of int8 scores, a 3-byte link frame header and the
# WebSocket's 6), and for a sample the edge cannot answer, 6 features
# replies (64 B of 1-bit features, about 8 B of headers); the summary gives
# the counted figures)
progress() {
  answers "$out/results.jsonl" |
  awk -F'\t' -v n="$n" -v labels="$video/labels.csv" '
    BEGIN { while ((getline line < labels) > 0) { split(line, f, ","); label[f[1]] = f[2] } }
    { done++; right += ($2 == label[$1]); if ($3 == "device") local++ }
    END {
      bytes = done * 6 * 21 + (done - local) * 6 * 72
      printf "\r  %d/%d samples, %.0f %% answered locally, %.1f %% right, %.0f B/sample sent (raw: 6144, %.1fx less)   ",
        done, n, done ? 100 * local / done : 0, done ? 100 * right / done : 0,
        done ? bytes / done : 0, bytes ? 6144 * done / bytes : 0
    }'
}
while kill -0 "$devices" 2>/dev/null; do
  progress
  sleep 0.25
done
wait "$devices" || { echo; echo "the cameras' host failed: see $out/devices.log" >&2; exit 1; }
end=$(date +%s.%N)
progress
echo
kill -INT "$edge"; wait "$edge" 2>/dev/null || true
kill -INT "$cloud"; wait "$cloud" 2>/dev/null || true
pids=

# the summary, from the answers as the cameras' host got them and the bytes
# the cameras' links counted
echo
bytes=$(link_bytes "$out/devices.log" wire-up)
down=$(link_bytes "$out/devices.log" wire-down)
payload=$(link_bytes "$out/devices.log" payload-bytes)
answers "$out/results.jsonl" |
awk -F'\t' -v n="$n" -v t0="$start" -v t1="$end" -v labels="$video/labels.csv" \
  -v bytes="$bytes" -v down="$down" -v payload="$payload" '
  BEGIN { while ((getline line < labels) > 0) { split(line, f, ","); label[f[1]] = f[2] } }
  { s = $1; c = $2; t = $3; k[t]++; ok[t] += (c == label[s]); total++; right += (c == label[s]) }
  END {
    printf "%-22s %8s %10s %10s\n", "answered at", "samples", "share", "accuracy"
    for (t in k) printf "%-22s %8d %9.1f%% %9.1f%%\n", t, k[t], 100 * k[t] / total, 100 * ok[t] / k[t]
    printf "%-22s %8d %9.1f%% %9.1f%%\n", "overall", total, 100 * total / n, 100 * right / total
    printf "\nbytes from the cameras on the wire, all framing included: %.1f B/sample (%.1fx less than raw offload of 6144 B);\n", bytes / n, 6144 * n / bytes
    printf "  of which scores and features %.1f B/sample (%.1fx less); the rest link frame and WebSocket headers, beats, handshakes\n", payload / n, 6144 * n / payload
    printf "bytes to the cameras (answers, acks, requests for features, beats): %.1f B/sample\n", down / n
    printf "%d samples in %.1f s: %.0f samples/s (cameras paced at the rate asked)\n", total, t1 - t0, total / (t1 - t0)
  }'

# the threshold sweep on the same samples
"$ddnn" eval --model "$model" --data "$data" --limit "$n" --sweep --output "$out" >/dev/null

# a mosaic of the six cameras at 2 samples a second, each answer overlaid
answers "$out/results.jsonl" |
awk -F'\t' -v n="$n" '
  function ts(t) { return sprintf("%02d:%02d:%02d,%03d", t / 3600, (t % 3600) / 60, t % 60, (t * 1000) % 1000) }
  { text[$1] = sprintf("sample %d: %s (%s)", $1, $4, $3) }
  END {
    for (s = 0; s < n; s++)
      if (s in text) printf "%d\n%s --> %s\n%s\n\n", s + 1, ts(s / 2), ts((s + 1) / 2), text[s]
  }' > "$out/answers.srt"
# the cameras' frames as raw bytes, timed anew at 2 frames a second
set --
for v in 0 1 2 3 4 5; do
  gst-launch-1.0 -q filesrc "location=$video/cam$v.mkv" ! matroskademux ! \
    filesink "location=$out/cam$v.gray"
  set -- "$@" filesrc "location=$out/cam$v.gray" ! \
    rawvideoparse width=32 height=32 format=gray8 framerate=2/1 ! \
    videoscale method=nearest-neighbour ! video/x-raw,width=160,height=160 ! videoconvert ! "c.sink_$v"
done
gst-launch-1.0 -q compositor name=c \
  sink_0::xpos=0 sink_1::xpos=160 sink_2::xpos=320 sink_3::xpos=0 sink_4::xpos=160 sink_5::xpos=320 \
  sink_3::ypos=160 sink_4::ypos=160 sink_5::ypos=160 ! video/x-raw,width=480,height=320 ! \
  t.video_sink textoverlay name=t valignment=bottom font-desc="Sans 15" ! videoconvert ! \
  vp8enc deadline=1 ! webmmux ! filesink location="$out/mosaic.webm" \
  filesrc location="$out/answers.srt" ! subparse ! t.text_sink "$@"
rm -f "$out"/cam?.gray

echo
echo "files:"
echo "  $out/results.jsonl   every answer, as the cameras' host learned it"
echo "  $out/mosaic.webm     the six cameras with each answer (watch: gst-play-1.0 $out/mosaic.webm)"
echo "  $out/sweep.svg       accuracy and bytes against the exit threshold (sweep.csv beside it)"
echo "  $out/*.log           the three processes' logs"
