#!/bin/sh
# The cameras' host: each recorded FMV-6 camera -> ddnndevice -> ddnnsink to
# the edge (scores and features only, never the video).  The answers for
# its samples come back and go into RESULTS (from the first camera's link).
#
# usage: pipelines/devices.sh -u EDGE_URL -d VIDEO_DIR [-k TOKEN_FILE] [-m MODEL]
#            [-c CAMERAS] [-r RATE] [-T TIMEOUT_MS] [-o RESULTS.jsonl] [-f]
#            [-t CLOCK -S START]
#
# CAMERAS is a list such as "0 1 2 3 4 5" (the default) or "3" for one
# camera per process; RATE limits the frames per second (0 = as fast as
# they decode); -f sends scores alone and features only when the edge asks
# (features on demand).  The token comes from TOKEN_FILE or from the
# environment variable DDNN_TOKEN, never from the command line.
#
# Live replay (-t): the recordings play as live cameras watching one scene
# on a shared clock: frame k is the moment START + k/RATE seconds (START in
# Unix seconds, the same for every camera), a camera started late begins
# at the current moment, and its capture times compare with the other
# cameras' (the edge aligns with edge.sh -A capture-time).  CLOCK is
# net:HOST:PORT (the clock the edge serves, edge.sh -P), realtime (hosts in
# step by NTP) or ptp:DOMAIN.  RATE is then the frame rate (default 30).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/pipelines/where.sh"
. "$here/pipelines/common.sh"
token_file= model=$here/models/fmv6-binary.safetensors cameras="0 1 2 3 4 5"
rate=0 timeout_ms=5000 results= edge= video= on_demand=false clock= start=
while getopts u:d:k:m:c:r:T:o:ft:S:h opt; do
  case $opt in
    u) edge=$OPTARG ;; d) video=$OPTARG ;; k) token_file=$OPTARG ;;
    m) model=$OPTARG ;; c) cameras=$OPTARG ;; r) rate=$OPTARG ;;
    T) timeout_ms=$OPTARG ;; o) results=$OPTARG ;; f) on_demand=true ;;
    t) clock=$OPTARG ;; S) start=$OPTARG ;;
    *) sed -n '2,23p' "$0"; exit 2 ;;
  esac
done
[ -n "$edge" ] && [ -n "$video" ] || { sed -n '2,23p' "$0"; exit 2; }
token_check "$token_file"
clock_props= replay=
if [ -n "$clock" ]; then
  [ -n "$start" ] || { echo "-t needs -S START (Unix seconds)" >&2; exit 2; }
  [ "$rate" != 0 ] || rate=30
  case $clock in
    net:*:*) h=${clock#net:}; clock_props="clock=net clock-address=${h%:*} clock-port=${h##*:}" ;;
    realtime) clock_props="clock=realtime" ;;
    ptp:*) clock_props="clock=ptp ptp-domain=${clock#ptp:}" ;;
    *) echo "-t: net:HOST:PORT, realtime or ptp:DOMAIN" >&2; exit 2 ;;
  esac
  start_ns=$(awk -v s="$start" 'BEGIN { printf "%.0f", s * 1e9 }')
  period_ns=$(awk -v r="$rate" 'BEGIN { printf "%.0f", 1e9 / r }')
  replay="ddnnreplay start-time=$start_ns period=$period_ns !"
fi
set --
first=1
for v in $cameras; do
  pace=
  [ "$rate" = 0 ] || [ -n "$replay" ] || pace="identity sleep-time=$((1000000 / rate)) !"
  # shellcheck disable=SC2086
  set -- "$@" filesrc "location=$video/cam$v.mkv" ! matroskademux ! $pace $replay \
    ddnndevice "model=$model" "view=$v" ! \
    ddnnsink "location=$edge" ${token_file:+"token-file=$token_file"} "model=$model" \
      "timeout=${timeout_ms}000000" "features-on-demand=$on_demand" \
      "peer-id=$(hostname)-cam$v" $clock_props \
      ${results:+${first:+"results=$results"}}
  first=
done
export GST_PLUGIN_PATH=$build/plugins/ddnn:$build/plugins/ddnnnet${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}
exec gst-launch-1.0 -m "$@"
