#!/usr/bin/python3
"""A grouped (depthwise) convolution trains: tests/lib/data/grouped-arch.json,
widened to FMV-6's six views (one edit, thanks to the device template), is
trained by `ddnn train` for a few epochs on 1 200 samples.  The loss falls,
the grouped layers' weights move from where `ddnn init` put them, and the
trained model beats chance on held-out samples at every exit.

usage: test_grouped_train.py DDNN_TOOL SOURCE_DIR"""
import json
import os
import re
import subprocess
import sys
import tempfile

import hosts

N, HELD, EPOCHS = 1200, 300, 4


def fail(why):
    print(f"FAIL: {why}")
    sys.exit(1)


def tensors(path):
    return hosts.safetensors(path)[1]


def main():
    tool, src = sys.argv[1], sys.argv[2]
    arch = json.load(open(os.path.join(src, "tests", "lib", "data", "grouped-arch.json")))
    arch["views"] = 6
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "fmv6")
        path = os.path.join(tmp, "grouped.json")
        init, trained = os.path.join(tmp, "init.st"), os.path.join(tmp, "trained.st")
        json.dump(arch, open(path, "w"))
        subprocess.run([tool, "dataset", "fmv", "--out", data, "--seed", "1", "--limit", str(N)],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run([tool, "init", "--arch", path, "--out", init, "--seed", "1"],
                       check=True, stdout=subprocess.DEVNULL)
        log = subprocess.run([tool, "train", "--data", data, "--arch", path, "--seed", "1",
                              "--epochs", str(EPOCHS), "--validate", str(HELD), "--out", trained],
                             check=True, capture_output=True, text=True).stdout
        losses = [float(x) for x in re.findall(r"loss ([0-9.]+)", log)]
        if len(losses) != EPOCHS or not losses[-1] < losses[0]:
            fail(f"the loss did not fall: {losses}\n{log}")
        before, after = tensors(init), tensors(trained)
        grouped = [k for k in after if k.startswith("device0.body.") and
                   k.endswith(".weight") and int(k.split(".")[2]) in (3, 7)]
        if len(grouped) != 2:
            fail(f"grouped weights not found: {sorted(after)}")
        for k in grouped:
            if before[k] == after[k]:
                fail(f"{k} did not change in training")
        ev = json.loads(subprocess.run(
            [tool, "eval", "--model", trained, "--data", data, "--split", "train",
             "--skip", str(N - HELD), "--json"],
            check=True, capture_output=True, text=True).stdout)
        for key in ("local_accuracy", "cloud_accuracy"):
            if not ev[key] > 0.2:
                fail(f"{key} {ev[key]} on held-out samples: no better than chance (0.1)")
        print(f"ok: loss {losses[0]:.3f} -> {losses[-1]:.3f} in {EPOCHS} epochs; held out: "
              f"local {ev['local_accuracy']:.3f}, cloud {ev['cloud_accuracy']:.3f}")


if __name__ == "__main__":
    main()
