#!/usr/bin/python3
"""`ddnn train` chooses both default thresholds of a model with an edge
section on the samples it held out, by the rule models/README.md states: the
local threshold is the smallest multiple of 0.001 under which the
--exit-target share of held-out samples exits locally; of the samples that
go on, the edge threshold is the smallest under which the --edge-target share
of all held-out samples exits at the edge.

The check does not trust the code that chose: it reads every held-out
sample's local and edge entropy from `ddnn run --json` (on a copy of the data
whose test split is the training split) and counts.  `ddnn eval --split train
--skip` must then report the same shares.

usage: test_choose_thresholds.py DDNN_TOOL SOURCE_DIR"""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

N, HELD = 600, 200
LOCAL, EDGE = 0.5, 0.25


def fail(why):
    print(f"FAIL: {why}")
    sys.exit(1)


def main():
    tool, src = sys.argv[1], sys.argv[2]
    arch = os.path.join(src, "tests", "integration", "edge-fmv6-arch.json")
    with tempfile.TemporaryDirectory() as tmp:
        data, model = os.path.join(tmp, "fmv6"), os.path.join(tmp, "edge.safetensors")
        subprocess.run([tool, "dataset", "fmv", "--out", data, "--seed", "1",
                        "--limit", str(N)], check=True, stdout=subprocess.DEVNULL)
        out = subprocess.run([tool, "train", "--data", data, "--arch", arch,
                              "--epochs", "1", "--validate", str(HELD),
                              "--exit-target", str(LOCAL), "--edge-target", str(EDGE),
                              "--out", model],
                             check=True, capture_output=True, text=True).stdout
        if "edge threshold" not in out:
            fail(f"ddnn train did not say it chose an edge threshold:\n{out}")

        # the training split, run as if it were the test split
        same = os.path.join(tmp, "same")
        os.mkdir(same)
        for split in ("train", "test"):
            shutil.copy(os.path.join(data, "train.safetensors"),
                        os.path.join(same, split + ".safetensors"))
        lines = subprocess.run([tool, "run", model, "--data", same, "--json",
                                "-n", str(N)],
                               check=True, capture_output=True, text=True).stdout
        held = [json.loads(l) for l in lines.splitlines()][N - HELD:]
        if len(held) != HELD:
            fail(f"ddnn run gave {len(held)} held-out samples, not {HELD}")

        model_t = json.loads(subprocess.run(
            [tool, "eval", "--model", model, "--data", data, "--split", "train",
             "--skip", str(N - HELD), "--json"],
            check=True, capture_output=True, text=True).stdout)
        local_t, edge_t = model_t["threshold"], model_t["edge_threshold"]

        def local_exits(t):
            return sum(r["local_entropy"] < t for r in held)

        def edge_exits(t):
            return sum(r["local_entropy"] >= local_t and r["edge_entropy"] < t
                       for r in held)

        need_local, need_edge = math.ceil(LOCAL * HELD), math.ceil(EDGE * HELD)
        if not (local_exits(local_t) >= need_local > local_exits(local_t - 0.001)):
            fail(f"local threshold {local_t}: {local_exits(local_t)} of {HELD} exit, "
                 f"{local_exits(local_t - 0.001)} at 0.001 less; {need_local} wanted")
        if not (edge_exits(edge_t) >= need_edge > edge_exits(edge_t - 0.001)):
            fail(f"edge threshold {edge_t}: {edge_exits(edge_t)} of {HELD} exit, "
                 f"{edge_exits(edge_t - 0.001)} at 0.001 less; {need_edge} wanted")
        for key, want in (("local_exit_fraction", local_exits(local_t)),
                          ("edge_exit_fraction", edge_exits(edge_t))):
            if abs(model_t[key] - want / HELD) > 1e-4:
                fail(f"ddnn eval reports {key} {model_t[key]}, the entropies "
                     f"give {want / HELD}")
        print(f"ok: local threshold {local_t} ({local_exits(local_t)} of {HELD} held-out "
              f"samples exit locally), edge threshold {edge_t} "
              f"({edge_exits(edge_t)} at the edge)")

        # wrong uses are refused with a reason
        for args, why in ((["--arch", os.path.join(src, "models", "fmv6-binary.json"),
                            "--edge-target", "0.2"], "edge section"),
                          (["--arch", arch, "--exit-target", "0.9",
                            "--edge-target", "0.2"], "add up")):
            p = subprocess.run([tool, "train", "--data", data, "--epochs", "1",
                                "--validate", str(HELD), "--out",
                                os.path.join(tmp, "x.safetensors"), *args],
                               capture_output=True, text=True)
            if p.returncode == 0 or why not in p.stderr:
                fail(f"train {' '.join(args)}: exit {p.returncode}, {p.stderr!r}")


if __name__ == "__main__":
    main()
