#!/usr/bin/python3
"""The one-host pipeline (six recorded cameras -> ddnndevice x 6 ->
ddnnaggregate -> ddnnexit -> exit | ddnncloud) answers each of 500 FMV-6
test samples exactly as the engine does (`ddnn run --data --json`): the same
class and the same tier, for every sample.

usage: test_one_host_pipeline.py DDNN_TOOL PLUGIN_DIR MODEL"""
import json
import os
import re
import subprocess
import sys
import tempfile

N = 500


def main():
    tool, plugin_dir, model = sys.argv[1], sys.argv[2], sys.argv[3]
    with tempfile.TemporaryDirectory() as tmp:
        data, video = os.path.join(tmp, "fmv6"), os.path.join(tmp, "video")
        subprocess.run([tool, "dataset", "fmv", "--out", data, "--seed", "1",
                        "--limit", str(N), "--video", video], check=True,
                       stdout=subprocess.DEVNULL)
        # no threshold anywhere: ddnnexit and `ddnn run` both take the
        # model's trained one, through lib's one exit rule
        args = ["gst-launch-1.0", "-m", "ddnnaggregate", "name=f", f"model={model}",
                "!", "ddnnexit", "name=x", f"model={model}",
                "x.exit", "!", "fakesink", "async=false",
                "x.next", "!", "ddnncloud", f"model={model}", "!", "fakesink", "async=false"]
        for v in range(6):
            args += ["filesrc", f"location={video}/cam{v}.mkv", "!", "matroskademux", "!",
                     "ddnndevice", f"model={model}", f"view={v}", "!", "f."]
        env = dict(os.environ, GST_PLUGIN_PATH=plugin_dir)
        out = subprocess.run(args, check=True, capture_output=True, text=True,
                             env=env, timeout=120).stdout
        got = {}
        for m in re.finditer(r"ddnn-result, .*?sample=\(guint64\)(\d+), .*?class=\(uint\)(\d+), "
                             r".*?tier=\(string\)(\w+)", out):
            sample = int(m.group(1))
            if sample in got:
                print(f"FAIL: sample {sample} answered twice")
                sys.exit(1)
            got[sample] = (int(m.group(2)), m.group(3))
        ref = {}
        run = subprocess.run([tool, "run", model, "--data", data, "--json", "-n", str(N)],
                             check=True, capture_output=True, text=True).stdout
        for line in run.splitlines():
            r = json.loads(line)
            ref[r["sample"]] = (r["answer"], "device" if r["tier"] == "local" else "cloud")
        if len(got) != N:
            print(f"FAIL: {len(got)} answers for {N} samples")
            sys.exit(1)
        wrong = [k for k in ref if got.get(k) != ref[k]]
        if wrong:
            k = wrong[0]
            print(f"FAIL: {len(wrong)} samples differ, e.g. {k}: pipeline {got.get(k)}, engine {ref[k]}")
            sys.exit(1)
        local = sum(1 for v in got.values() if v[1] == "device")
        print(f"ok: {N} samples, all equal to the engine ({local} answered locally, "
              f"{N - local} by the cloud)")


if __name__ == "__main__":
    main()
