#!/bin/sh
# `make demo`: what the engine does today, on the shipped binary model.
# (The GStreamer pipelines take this over once the elements exist.)
set -eu
build=${1:-build}
model=models/fmv6-binary.safetensors
ddnn="$build/tools/ddnn"
data="$build/demo-fmv6"
samples=${DEMO_SAMPLES:-2000}

echo "== ddnn inspect $model"
"$ddnn" inspect "$model"
echo
if [ ! -f "$data/test.safetensors" ]; then
  echo "== ddnn dataset fmv --out $data --limit $samples   (FMV-6, six cameras a sample)"
  "$ddnn" dataset fmv --out "$data" --limit "$samples" | tail -n 1
  echo
fi
echo "== ddnn run $model --data $data -n 8   (one sample at a time through all seven sections)"
"$ddnn" run "$model" --data "$data" -n 8
echo
echo "== ddnn eval --model $model --data $data --limit $samples"
"$ddnn" eval --model "$model" --data "$data" --limit "$samples"
echo
echo "Done: loaded a binary DDNN (checking its digests and id), showed its costs,"
echo "ran Fashion-MNIST items through the six camera sections, the local exit and"
echo "the cloud, and evaluated $samples FMV-6 test samples: accuracy by tier, the"
echo "share answered on the cameras, and the bytes they send against raw offload."
