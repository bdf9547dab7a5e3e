#!/bin/sh
# `make demo`: what the engine does today, on the shipped model.
set -eu
build=${1:-build}
model=models/fmv6-paper-init.safetensors
ddnn="$build/tools/ddnn"

echo "== ddnn inspect $model"
echo "   (the DDNN paper's reference network; weights are untrained until"
echo "    'ddnn train' exists, so its answers are no better than chance)"
"$ddnn" inspect "$model"
echo
echo "== ddnn run $model -n 10"
echo "   every camera sees the same Fashion-MNIST test image; each sample runs"
echo "   six device sections, fuses their scores, and runs the cloud section"
"$ddnn" run "$model" -n 10
echo
echo "Done: loaded a safetensors model (checking its digests and id), printed"
echo "its topology and costs, and ran 10 samples through all 7 sections."
