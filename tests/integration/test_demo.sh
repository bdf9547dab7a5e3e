#!/bin/sh
# `make demo`'s script on 60 samples, into a temporary folder: it ends with
# its summary, every sample is answered once in results.jsonl, the mosaic
# video lasts 30 s (2 samples a second), plays with gst-play-1.0 and carries
# an answer for each sample, and the sweep plot is there.
#
# usage: test_demo.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cd "$src"
DEMO_SAMPLES=60 DEMO_RATE=0 DEMO_OUT=$tmp/demo build-aux/demo.sh "$build" > "$tmp/out.txt" 2>&1 ||
  { tail -20 "$tmp/out.txt"; fail "the demo failed"; }
grep -q '^overall ' "$tmp/out.txt" || fail "no summary table"
grep -q 'B/sample' "$tmp/out.txt" || fail "no bytes in the summary"
n=$(sed -n 's/.*"sample":\([0-9]*\).*/\1/p' "$tmp/demo/results.jsonl" | sort -un | wc -l)
lines=$(wc -l < "$tmp/demo/results.jsonl")
[ "$n" = 60 ] && [ "$lines" = 60 ] || fail "results.jsonl has $lines lines for $n samples"
[ -s "$tmp/demo/sweep.svg" ] || fail "no sweep.svg"
[ "$(grep -c -- '-->' "$tmp/demo/answers.srt")" = 60 ] || fail "the video's answers are not all there"
duration=$(gst-discoverer-1.0 "$tmp/demo/mosaic.webm" | sed -n 's/.*Duration: 0:00:\([0-9]*\)\..*/\1/p')
[ "${duration:-0}" -ge 29 ] && [ "${duration:-0}" -le 30 ] || fail "the video lasts ${duration:-?} s, not 30"
if command -v gst-play-1.0 >/dev/null; then
  timeout 120 gst-play-1.0 --videosink=fakesink --audiosink=fakesink "$tmp/demo/mosaic.webm" \
    > "$tmp/play.txt" 2>&1 || fail "gst-play-1.0 cannot play the video"
  grep -q 'Reached end of play list' "$tmp/play.txt" || fail "gst-play-1.0 did not play it to the end"
fi
echo "the demo answered 60 samples and wrote results.jsonl, a 30 s mosaic video that plays, and sweep.svg"
