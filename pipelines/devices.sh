#!/bin/sh
# The cameras' host: each recorded FMV-6 camera -> ddnndevice -> ddnnsink to
# the edge (scores and features only, never the video).  The answers for
# its samples come back and go into RESULTS (from camera 0's link).
#
# usage: pipelines/devices.sh -u EDGE_URL -d VIDEO_DIR [-k TOKEN] [-m MODEL]
#            [-c CAMERAS] [-r RATE] [-T TIMEOUT_MS] [-o RESULTS.jsonl] [-f]
#
# CAMERAS is a list such as "0 1 2 3 4 5" (the default) or "3" for one
# camera per process; RATE limits the frames per second (0 = as fast as
# they decode); -f sends scores alone and features only when the edge asks
# (features on demand).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$here/build}
token= model=$here/models/fmv6-binary.safetensors cameras="0 1 2 3 4 5"
rate=0 timeout_ms=5000 results= edge= video= on_demand=false
while getopts u:d:k:m:c:r:T:o:fh opt; do
  case $opt in
    u) edge=$OPTARG ;; d) video=$OPTARG ;; k) token=$OPTARG ;;
    m) model=$OPTARG ;; c) cameras=$OPTARG ;; r) rate=$OPTARG ;;
    T) timeout_ms=$OPTARG ;; o) results=$OPTARG ;; f) on_demand=true ;;
    *) sed -n '2,13p' "$0"; exit 2 ;;
  esac
done
[ -n "$edge" ] && [ -n "$video" ] || { sed -n '2,13p' "$0"; exit 2; }
set --
first=1
for v in $cameras; do
  pace=
  [ "$rate" = 0 ] || pace="identity sleep-time=$((1000000 / rate)) !"
  # shellcheck disable=SC2086
  set -- "$@" filesrc "location=$video/cam$v.mkv" ! matroskademux ! $pace \
    ddnndevice "model=$model" "view=$v" ! \
    ddnnsink "location=$edge" ${token:+"token=$token"} "model=$model" \
      "timeout=${timeout_ms}000000" "features-on-demand=$on_demand" \
      ${results:+${first:+"results=$results"}}
  first=
done
export GST_PLUGIN_PATH=$build/plugins/ddnn:$build/plugins/ddnnnet${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}
exec gst-launch-1.0 -m "$@"
