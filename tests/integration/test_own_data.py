#!/usr/bin/python3
"""The README's own-data section works as written, and a mislabelled model
cannot be trained or evaluated by accident.

- Two cameras of PNG pictures (FMV-6 views, by pngenc) and a labels.csv
  with the class names (one with a comma and a quote, so quoted) are laid out
  as the README says; the README's <!-- own-data --> block then runs line by
  line, unchanged but for the path of the ddnn tool, and must succeed.  The
  trained model's classes are the data set's, and it beats chance.
- The mislabelling trap: an architecture that lists the classes in
  Fashion-MNIST's order (the data set numbers them by name) is refused by
  ddnn train and ddnn eval with both lists named; --remap trains it, and
  evaluation with --remap counts right what the model calls right.

usage: test_own_data.py DDNN_TOOL SOURCE_DIR"""
import csv
import json
import os
import re
import subprocess
import sys
import tempfile

import hosts

N = 600
NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
         'Shirt, "formal"', "Sneaker", "Bag", "Ankle boot"]


def fail(why):
    print(f"FAIL: {why}")
    sys.exit(1)


def main():
    tool, src = os.path.abspath(sys.argv[1]), sys.argv[2]
    readme = open(os.path.join(src, "README.md")).read()
    block = re.search(r"<!-- own-data -->\s*```sh\n(.*?)```", readme, re.S)
    if not block:
        fail("README.md has no own-data block")
    with tempfile.TemporaryDirectory() as tmp:
        video = os.path.join(tmp, "video")
        subprocess.run([tool, "dataset", "fmv", "--out", os.path.join(tmp, "fmv"), "--seed", "1",
                        "--limit", str(N), "--video", video], check=True,
                       stdout=subprocess.DEVNULL)
        for v in range(2):
            hosts.video_to_pictures(f"{video}/cam{v}.mkv", os.path.join(tmp, f"cam{v}"),
                                    "%04d.png")
        with open(os.path.join(tmp, "labels.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["file", "label", "view1"])
            for row in list(csv.DictReader(open(os.path.join(video, "labels.csv")))):
                k, label = int(row["frame"]), NAMES[int(row["label"])]
                w.writerow([f"{k:04d}.png", label,
                            "absent" if row["view1"] == "absent" else label])

        # the README's lines, as written, in the folder they describe
        for line in block.group(1).splitlines():
            line = line.split("   #")[0].split("    #")[0].strip()
            if not line or line.startswith("ddnn="):
                continue
            cmd = line.replace("$ddnn", tool)
            p = subprocess.run(cmd, shell=True, cwd=tmp, capture_output=True, text=True)
            if p.returncode != 0:
                fail(f"README line `{line}` failed:\n{p.stdout}{p.stderr}")
        model = os.path.join(tmp, "my.safetensors")
        info = json.loads(subprocess.run([tool, "inspect", "--json", model], check=True,
                                         capture_output=True, text=True).stdout)
        if info["class_names"] != sorted(NAMES, key=lambda s: s.encode()):
            fail(f"the model's classes {info['class_names']} are not the data set's")
        ev = json.loads(subprocess.run([tool, "eval", "--model", model, "--data",
                                        os.path.join(tmp, "mydata"), "--json"],
                                       check=True, capture_output=True, text=True).stdout)
        if not ev["overall_accuracy"] > 0.3:
            fail(f"the README's model answers {ev['overall_accuracy']} right")
        for f in ("camera0.safetensors", "sweep.csv"):
            if not os.path.exists(os.path.join(tmp, f)):
                fail(f"the README's block did not write {f}")
        print(f"ok: the README's own-data block runs as written; {ev['overall_accuracy']:.3f} "
              f"right on the imported test split")

        # the trap: an arch in Fashion-MNIST's order
        arch = json.load(open(os.path.join(tmp, "my-arch.json")))
        arch["classes"] = NAMES
        trap = os.path.join(tmp, "fmnist-order.json")
        json.dump(arch, open(trap, "w"))
        out = os.path.join(tmp, "trap.safetensors")
        args = ["train", "--data", os.path.join(tmp, "mydata"), "--arch", trap, "--out", out]
        p = subprocess.run([tool, *args], capture_output=True, text=True)
        if p.returncode == 0 or "Ankle boot" not in p.stderr or "--remap" not in p.stderr \
                or "T-shirt/top" not in p.stderr:
            fail(f"an arch in another class order trained: exit {p.returncode}, {p.stderr!r}")
        subprocess.run([tool, *args, "--remap"], check=True, capture_output=True)
        p = subprocess.run([tool, "eval", "--model", out, "--data", os.path.join(tmp, "mydata")],
                           capture_output=True, text=True)
        if p.returncode == 0 or "another order" not in p.stderr:
            fail(f"eval of a model in another class order ran: {p.stderr!r}")
        ev = json.loads(subprocess.run([tool, "eval", "--model", out, "--data",
                                        os.path.join(tmp, "mydata"), "--json", "--remap"],
                                       check=True, capture_output=True, text=True).stdout)
        if not ev["overall_accuracy"] > 0.3:
            fail(f"--remap trained a model that answers {ev['overall_accuracy']} right")
        print("ok: an arch listing the classes in another order is refused by train and eval, "
              f"both lists named; --remap trains it ({ev['overall_accuracy']:.3f} right)")


if __name__ == "__main__":
    main()
