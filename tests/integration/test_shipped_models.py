#!/usr/bin/python3
"""Re-evaluates the shipped models on the first 2 000 FMV-6 test samples
(data seed 1) and checks the figures recorded in models/README.md, which
`ddnn eval --json --limit 2000` printed when the models were trained (the
engine is deterministic, so they must match to the last digit).

usage: test_shipped_models.py DDNN_TOOL SOURCE_DIR"""
import json
import os
import re
import subprocess
import sys
import tempfile

KEYS = ["overall_accuracy", "local_accuracy", "cloud_accuracy",
        "local_exit_fraction", "bytes_per_sample", "threshold"]
# recorded for models with an edge section
EDGE_KEYS = ["edge_accuracy", "edge_exit_fraction", "edge_threshold",
             "cloud_bytes_per_sample"]


def recorded(readme):
    """The JSON objects in the README's 'Checked by the tests' block."""
    text = open(readme).read()
    block = re.search(r"<!-- checked-eval -->\s*```json\n(.*?)```", text, re.S)
    if not block:
        print(f"FAIL: {readme} has no checked-eval block")
        sys.exit(1)
    return json.loads(block.group(1))


def main():
    tool, source = sys.argv[1], sys.argv[2]
    expected = recorded(os.path.join(source, "models", "README.md"))
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "fmv6")
        subprocess.run([tool, "dataset", "fmv", "--out", data, "--seed", "1",
                        "--limit", "2000"], check=True, stdout=subprocess.DEVNULL)
        failed = False
        for name, want in expected.items():
            model = os.path.join(source, "models", name + ".safetensors")
            out = subprocess.run([tool, "eval", "--model", model, "--data", data,
                                  "--limit", "2000", "--json"],
                                 check=True, capture_output=True, text=True).stdout
            got = json.loads(out)
            keys = KEYS + [k for k in EDGE_KEYS if k in want]
            if "edge_threshold" in got and "edge_threshold" not in want:
                print(f"FAIL: {name} has an edge section; models/README.md records "
                      f"none of its edge figures")
                failed = True
            for key in keys:
                if abs(got[key] - want[key]) > 1e-9:
                    print(f"FAIL: {name}: {key} is {got[key]}, models/README.md "
                          f"records {want[key]}")
                    failed = True
            print(f"{name}: overall {got['overall_accuracy']:.4f}, "
                  f"local exits {got['local_exit_fraction']:.4f}, "
                  f"{got['bytes_per_sample']:.1f} B/sample")
        sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
