#!/bin/sh
# The cloud host: ddnnsrc (fused samples from the edge) -> ddnncloud.
# Answers go back to the edge over the same link.
#
# usage: pipelines/cloud.sh [-p PORT] [-a ADDRESS] [-k TOKEN_FILE] [-m MODEL]
#            [-o RESULTS.jsonl] [-c CERT.pem -K KEY.pem]
#
# PORT 0 (the default) takes a free port; the line "ddnn-listening, port=..."
# that gst-launch prints says which.  With -c and -K it serves wss://.
# The token comes from TOKEN_FILE or from the environment variable
# DDNN_TOKEN, never from the command line.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/pipelines/where.sh"
. "$here/pipelines/common.sh"
port=0 address=127.0.0.1 token_file= model=$here/models/fmv6-binary.safetensors
results=/dev/null cert= key=
while getopts p:a:k:m:o:c:K:h opt; do
  case $opt in
    p) port=$OPTARG ;; a) address=$OPTARG ;; k) token_file=$OPTARG ;;
    m) model=$OPTARG ;; o) results=$OPTARG ;; c) cert=$OPTARG ;; K) key=$OPTARG ;;
    *) sed -n '2,11p' "$0"; exit 2 ;;
  esac
done
token_check "$token_file"
export GST_PLUGIN_PATH=$build/plugins/ddnn:$build/plugins/ddnnnet${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}
exec gst-launch-1.0 -e -m ddnnsrc name=in "port=$port" "address=$address" fused-pad=true \
  "model=$model" ${token_file:+"token-file=$token_file"} ${cert:+"tls-certificate=$cert"} ${key:+"tls-key=$key"} \
  in.src_fused ! queue ! ddnncloud "model=$model" "results=$results" ! \
  fakesink sync=false async=false
