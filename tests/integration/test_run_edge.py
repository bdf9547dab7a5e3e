#!/usr/bin/python3
"""`ddnn run` on a model with an edge section (all three exits): an
untrained FMV-6 network with a device, an edge and a cloud section runs, and
each sample's answer is the arg max of the tier it names, with the
thresholds sending every sample to each tier in turn and, at the model's own
thresholds, each tier's rule holding (local exit when the local entropy is
under the local threshold, else the edge when its entropy is under the edge
threshold, else the cloud).

usage: test_run_edge.py DDNN_TOOL SOURCE_DIR"""
import json
import os
import subprocess
import sys
import tempfile

N = 40


def argmax(v):
    return max(range(len(v)), key=lambda i: v[i])


def run(tool, model, data, *args):
    out = subprocess.run([tool, "run", model, "--data", data, "--json", "-n", str(N), *args],
                         check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def fail(why):
    print(f"FAIL: {why}")
    sys.exit(1)


def main():
    tool, src = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        data, model = os.path.join(tmp, "fmv6"), os.path.join(tmp, "edge.safetensors")
        subprocess.run([tool, "dataset", "fmv", "--out", data, "--seed", "1",
                        "--limit", str(N)], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([tool, "init", "--arch",
                        os.path.join(src, "tests", "integration", "edge-fmv6-arch.json"),
                        "--out", model], check=True, stdout=subprocess.DEVNULL)
        for args, tier, scores in ((("-t", "1.01"), "local", "local_scores"),
                                   (("-t", "0", "-e", "1.01"), "edge", "edge_scores"),
                                   (("-t", "0", "-e", "0"), "cloud", "cloud_scores")):
            for r in run(tool, model, data, *args):
                if r["tier"] != tier or r["answer"] != argmax(r[scores]):
                    fail(f"{' '.join(args)}: sample {r['sample']} answered {r['answer']} "
                         f"at {r['tier']}, expected the arg max of {scores} at {tier}")
        arch = json.load(open(os.path.join(src, "tests", "integration", "edge-fmv6-arch.json")))
        local_t, edge_t = arch["thresholds"]["local"], arch["thresholds"]["edge"]
        seen = set()
        for r in run(tool, model, data):
            want = ("local" if r["local_entropy"] < local_t else
                    "edge" if r["edge_entropy"] < edge_t else "cloud")
            if r["tier"] != want:
                fail(f"sample {r['sample']}: tier {r['tier']}, the thresholds say {want}")
            seen.add(r["tier"])
        print(f"ok: {N} samples through device, edge and cloud; at the model's thresholds "
              f"the tiers used: {sorted(seen)}")


if __name__ == "__main__":
    main()
