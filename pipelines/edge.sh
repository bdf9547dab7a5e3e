#!/bin/sh
# The edge host: ddnnsrc (one pad per camera) -> ddnnaggregate -> ddnnexit;
# confident samples are answered here, the rest go to the cloud through
# ddnnsink.  Every answer (local, edge, cloud, or degraded when the cloud
# does not answer within TIMEOUT) goes back to the cameras' hosts and into
# RESULTS.
#
# usage: pipelines/edge.sh -u CLOUD_URL [-p PORT] [-a ADDRESS] [-k TOKEN_FILE]
#            [-m MODEL] [-t THRESHOLD] [-e EDGE_THRESHOLD] [-w CAMERA_TIMEOUT_MS]
#            [-T CLOUD_TIMEOUT_MS] [-o RESULTS.jsonl] [-C CA.pem]
#            [-A ALIGN] [-P CLOCK_PORT] [-G TARGET]
#
# With a model that has an edge section, the samples that do not exit
# locally run it here (ddnncloud section=edge): those whose edge answer is
# confident (normalized entropy under EDGE_THRESHOLD, by default the
# model's) are answered here, the rest go to the cloud with the edge's
# features.
# ALIGN is sample-number (the default: recorded video, all cameras in step)
# or capture-time (cameras on separate hosts sharing a clock).  -P serves
# the shared clock on that UDP port (0 = any free one; the ddnn-listening
# line says which) for devices.sh -t net:EDGE:PORT.  The token comes from
# TOKEN_FILE or from the environment variable DDNN_TOKEN.  TARGET makes
# the local exit adaptive: accuracy=POINTS (ddnnexit max-accuracy-drop) or
# offload=FRACTION (max-offload), in place of the threshold.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/pipelines/where.sh"
. "$here/pipelines/common.sh"
port=0 address=127.0.0.1 token_file= model=$here/models/fmv6-binary.safetensors
threshold= edge_threshold= wait_ms=1000 cloud_ms=2000 results=/dev/null ca= cloud=
align=sample-number clock_port=-1 target=
while getopts u:p:a:k:m:t:e:w:T:o:C:A:P:G:h opt; do
  case $opt in
    u) cloud=$OPTARG ;; p) port=$OPTARG ;; a) address=$OPTARG ;;
    k) token_file=$OPTARG ;; m) model=$OPTARG ;; t) threshold=$OPTARG ;;
    e) edge_threshold=$OPTARG ;;
    w) wait_ms=$OPTARG ;; T) cloud_ms=$OPTARG ;; o) results=$OPTARG ;;
    C) ca=$OPTARG ;; A) align=$OPTARG ;; P) clock_port=$OPTARG ;;
    G) target=$OPTARG ;;
    *) sed -n '2,25p' "$0"; exit 2 ;;
  esac
done
[ -n "$cloud" ] || { sed -n '2,25p' "$0"; exit 2; }
adaptive=
case $target in
  "") ;;
  accuracy=*) adaptive="max-accuracy-drop=${target#accuracy=}" ;;
  offload=*) adaptive="max-offload=${target#offload=}" ;;
  *) echo "edge.sh: -G takes accuracy=POINTS or offload=FRACTION" >&2; exit 2 ;;
esac
token_check "$token_file"
views=$("$ddnn" inspect --json "$model" | jq .views)
# the edge section with its own exit, where the model has one
edge=
if "$ddnn" inspect "$model" | grep -Eq '^[^ ]+ +edge '; then
  edge="ddnncloud name=e section=edge model=$model results=$results ${edge_threshold:+threshold=$edge_threshold} ! fakesink sync=false async=false e.next ! queue !"
fi
set -- ddnnsrc name=in "port=$port" "address=$address" ${token_file:+"token-file=$token_file"} \
  "views=$views" "model=$model" "clock-port=$clock_port" \
  ddnnaggregate name=fuse "model=$model" "timeout=${wait_ms}000000" "align=$align" ! \
  ddnnexit name=x ${threshold:+"threshold=$threshold"} $adaptive "model=$model" "results=$results" \
  x.exit ! queue ! fakesink sync=false async=false \
  x.next ! queue ! $edge ddnnsink "location=$cloud" ${token_file:+"token-file=$token_file"} \
    ${ca:+"tls-ca-file=$ca"} "model=$model" "results=$results" \
    "timeout=${cloud_ms}000000"
v=0
while [ "$v" -lt "$views" ]; do
  set -- "$@" "in.src_$v" ! queue ! "fuse.sink_$v"
  v=$((v + 1))
done
export GST_PLUGIN_PATH=$build/plugins/ddnn:$build/plugins/ddnnnet${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}
exec gst-launch-1.0 -e -m "$@"
