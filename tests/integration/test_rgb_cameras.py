#!/usr/bin/python3
"""RGB cameras at 64x64, end to end: two RGB videos whose frames are red or
blue noise (the class) are imported with --rgb --size 64x64, `ddnn arch`
makes the binary preset fit them, `ddnn train` trains it, and the videos
then run through ddnndevice ×2 → ddnnaggregate → ddnnexit → ddnncloud in
gst-launch-1.0: every frame is answered, and right at least 90 % of the time
(the classes are easy; the point is that colour and size go through every
step).

usage: test_rgb_cameras.py DDNN_TOOL PLUGIN_DIR"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

N, W = 300, 64


def fail(why):
    print(f"FAIL: {why}")
    sys.exit(1)


def main():
    tool, plugins = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 2, N)
    env = dict(os.environ, GST_PLUGIN_PATH=plugins)
    with tempfile.TemporaryDirectory() as tmp:
        for v in range(2):
            frames = rng.integers(0, 120, (N, W, W, 3), dtype=np.uint8)
            # class 1: red dominates; class 0: blue
            frames[labels == 1, :, :, 0] += 120
            frames[labels == 0, :, :, 2] += 120
            raw = os.path.join(tmp, f"cam{v}.rgb")
            frames.tofile(raw)
            subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={raw}", "!",
                            "rawvideoparse", "format=rgb", f"width={W}", f"height={W}",
                            "framerate=30/1", "!", "matroskamux", "!", "filesink",
                            f"location={tmp}/cam{v}.mkv"], check=True)
        with open(os.path.join(tmp, "labels.csv"), "w") as f:
            f.write("label\n")
            for c in labels:
                f.write("red\n" if c else "blue\n")
        data, arch, model = (os.path.join(tmp, x) for x in ("data", "arch.json", "m.safetensors"))
        for args in (["dataset", "import", "--cameras", f"{tmp}/cam0.mkv", "--cameras",
                      f"{tmp}/cam1.mkv", "--labels", f"{tmp}/labels.csv", "--rgb", "--size",
                      f"{W}x{W}", "--out", data],
                     ["arch", "--preset", "binary", "--data", data, "--out", arch],
                     ["train", "--data", data, "--arch", arch, "--epochs", "3", "--out", model]):
            p = subprocess.run([tool, *args], capture_output=True, text=True)
            if p.returncode != 0:
                fail(f"ddnn {args[0]}: {p.stdout}{p.stderr}")
        a = json.load(open(arch))
        if a["input"]["channels"] != 3 or a["input"]["width"] != W or a["classes"] != ["blue", "red"]:
            fail(f"ddnn arch wrote {a['input']} and classes {a['classes']}")

        results = os.path.join(tmp, "answers.jsonl")
        pipeline = (f"ddnnaggregate name=fuse model={model} ! ddnnexit name=exit model={model} "
                    f"results={results} exit.exit ! fakesink async=false exit.next ! "
                    f"ddnncloud model={model} results={results} ! fakesink async=false")
        for v in range(2):
            pipeline += (f" filesrc location={tmp}/cam{v}.mkv ! matroskademux ! "
                         f"ddnndevice model={model} view={v} ! fuse.")
        p = subprocess.run(["gst-launch-1.0", "-q", *pipeline.split()], env=env,
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            fail(f"the pipeline failed: {p.stdout}{p.stderr}")
        answers = {}
        for line in open(results):
            r = json.loads(line)
            if r["sample"] in answers:
                fail(f"sample {r['sample']} answered twice")
            answers[r["sample"]] = r["label"]
        if len(answers) != N:
            fail(f"{len(answers)} of {N} frames answered")
        right = sum(answers[k] == ("red" if labels[k] else "blue") for k in range(N))
        if right < 0.9 * N:
            fail(f"{right} of {N} answered right")
        print(f"ok: RGB 64x64 cameras imported, an arch made, trained, and run by the "
              f"elements: {N} of {N} answered, {right} right")


if __name__ == "__main__":
    main()
