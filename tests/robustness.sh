#!/bin/sh
# Start/stop robustness of a camera -> edge pipeline pair over the network:
# CYCLES times (default 100), an edge and a cameras' host start on loopback
# (port chosen by the system), run for a random 0.2-1.0 s with frames and
# answers in flight, and are stopped (the cameras by SIGINT or SIGKILL in
# turn, the edge by SIGINT).  Every process must end within 10 s of its
# signal and none may crash (abort, segfault).  Then one cycle runs the edge
# under valgrind: no invalid access and no definite leak from our code.
#
# usage: tests/robustness.sh [CYCLES]        (from the source tree, after a build)
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$here/build}
export BUILD=$build
cycles=${1:-100}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
data=$tmp/fmv6 video=$tmp/video
"$build/tools/ddnn" dataset fmv --out "$data" --seed 1 --limit 300 --video "$video" >/dev/null || exit 1

. "$here/pipelines/common.sh"

# waits for PID (a child) up to 10 s; sets status to its exit status or
# "hung" (a child that has ended is a zombie until waited for, so its
# state is read from /proc)
ends() {
  i=0
  while [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 200 ]; then kill -KILL "$1" 2>/dev/null; wait "$1"; status=hung; return; fi
    sleep 0.05
  done
  wait "$1"; status=$?
}

export DDNN_TOKEN=robustness-$$
fails=0
c=1
while [ $c -le "$cycles" ]; do
  "$here/pipelines/edge.sh" -u ws://127.0.0.1:9/ddnn -T 200 -o "$tmp/edge.jsonl" > "$tmp/edge.log" 2>&1 &
  edge=$!
  port=$(port_of "$tmp/edge.log") || { echo "cycle $c: the edge did not start"; fails=$((fails + 1)); kill -KILL $edge; c=$((c + 1)); continue; }
  "$here/pipelines/devices.sh" -u "ws://127.0.0.1:$port/ddnn" -d "$video" -r 400 -T 300 > "$tmp/dev.log" 2>&1 &
  dev=$!
  sleep "0.$(( (c * 37) % 9 + 2 ))"
  if [ $((c % 2)) = 0 ]; then kill -KILL $dev 2>/dev/null; else kill -INT $dev 2>/dev/null; fi
  kill -INT $edge 2>/dev/null
  ends $dev; d=$status
  ends $edge; e=$status
  # the cameras' host may end by its signal (130, 137) or normally (0)
  case "$d" in 0|130|137|1) ;; *) echo "cycle $c: cameras' host ended with '$d'"; fails=$((fails + 1)) ;; esac
  case "$e" in 0|130|1) ;; *) echo "cycle $c: edge ended with '$e'"; tail -5 "$tmp/edge.log"; fails=$((fails + 1)) ;; esac
  if grep -q -E 'CRITICAL|Segmentation|Aborted' "$tmp/edge.log" "$tmp/dev.log"; then
    echo "cycle $c: criticals or a crash in the logs"; grep -h -E 'CRITICAL|Segmentation|Aborted' "$tmp/edge.log" "$tmp/dev.log" | head -3
    fails=$((fails + 1))
  fi
  c=$((c + 1))
done
echo "$cycles start/stop cycles: $fails failed"

# one cycle with the edge under valgrind
if command -v valgrind >/dev/null; then
  GST_PLUGIN_PATH=$build/plugins/ddnn:$build/plugins/ddnnnet G_SLICE=always-malloc \
    valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
    --suppressions="$here/tests/valgrind-soup.supp" \
    --log-file="$tmp/vg.log" gst-launch-1.0 -e -m ddnnsrc name=in port=0 address=127.0.0.1 \
    ddnnaggregate name=f model="$here/models/fmv6-binary.safetensors" timeout=300000000 ! \
    ddnnexit model="$here/models/fmv6-binary.safetensors" ! fakesink async=false \
    in.src_0 ! queue ! f.sink_0 > "$tmp/vgedge.log" 2>&1 &
  vg=$!
  port=$(port_of "$tmp/vgedge.log")
  if [ -n "$port" ]; then
    "$here/pipelines/devices.sh" -u "ws://127.0.0.1:$port/ddnn" -d "$video" -c 0 -T 2000 > /dev/null 2>&1
  fi
  kill -INT $vg
  wait $vg; rc=$?
  if [ $rc = 99 ] || grep -q 'Invalid \(read\|write\)' "$tmp/vg.log"; then
    echo "valgrind: errors in the edge"; grep -A12 'definitely lost in\|Invalid' "$tmp/vg.log" | head -40
    fails=$((fails + 1))
  else
    echo "valgrind: the edge ran and stopped with no invalid access and no definite leak"
  fi
fi
[ $fails = 0 ]
