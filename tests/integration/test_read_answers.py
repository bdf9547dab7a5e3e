#!/usr/bin/python3
"""examples/read-answers.py reads GstDdnnMeta from Python (python3-gi and the
GstDdnn-1.0 typelib) in a pad probe: on 200 recorded samples of fmv6-binary
its answers (sample, tier, class, entropy, cameras) equal, sample for sample,
the results file ddnnexit and ddnncloud write for the same pipeline.

usage: test_read_answers.py DDNN_TOOL SOURCE_DIR PLUGIN_DIR TYPELIB_DIR LIB_DIRS"""
import json
import os
import subprocess
import sys
import tempfile

N = 200


def fail(why):
    print(f"FAIL: {why}")
    sys.exit(1)


def main():
    tool, src, plugins, typelibs, libs = sys.argv[1:6]
    env = dict(os.environ, GST_PLUGIN_PATH=plugins, GI_TYPELIB_PATH=typelibs,
               LD_LIBRARY_PATH=libs + ":" + os.environ.get("LD_LIBRARY_PATH", ""))
    probe = subprocess.run(["/usr/bin/python3", "-c",
                            "import gi; gi.require_version('GstDdnn', '1.0')"],
                           env=env, capture_output=True, text=True)
    if probe.returncode != 0:
        print(f"SKIP: python3-gi cannot load the GstDdnn-1.0 typelib: {probe.stderr.strip()}")
        sys.exit(77)
    model = os.path.join(src, "models", "fmv6-binary.safetensors")
    with tempfile.TemporaryDirectory() as tmp:
        video, results = os.path.join(tmp, "video"), os.path.join(tmp, "results.jsonl")
        subprocess.run([tool, "dataset", "fmv", "--out", os.path.join(tmp, "fmv"), "--seed", "1",
                        "--limit", str(N), "--video", video], check=True,
                       stdout=subprocess.DEVNULL)
        pipeline = (f"ddnnaggregate name=fuse model={model} ! ddnnexit name=exit model={model} "
                    f"results={results} exit.exit ! fakesink async=false exit.next ! "
                    f"ddnncloud model={model} results={results} ! fakesink async=false")
        for v in range(6):
            pipeline += (f" filesrc location={video}/cam{v}.mkv ! matroskademux ! "
                         f"ddnndevice model={model} view={v} ! fuse.")
        subprocess.run(["gst-launch-1.0", "-q", *pipeline.split()], env=env, check=True,
                       timeout=120)
        want = {}
        for line in open(results):
            r = json.loads(line)
            want[r["sample"]] = r
        out = subprocess.run(["/usr/bin/python3", os.path.join(src, "examples", "read-answers.py"),
                              model, video], env=env, capture_output=True, text=True,
                             timeout=120)
        if out.returncode != 0:
            fail(f"read-answers.py failed: {out.stderr}")
        got = [json.loads(line) for line in out.stdout.splitlines()]
        if len(got) != N or sorted(r["sample"] for r in got) != list(range(N)):
            fail(f"read-answers.py gave {len(got)} answers, not one for each of {N} samples")
        for r in got:
            w = want.get(r["sample"])
            if w is None:
                fail(f"sample {r['sample']} is not in the results file")
            if (r["tier"], r["class"]) != (w["tier"], w["class"]):
                fail(f"sample {r['sample']}: Python read {r['tier']} {r['class']}, "
                     f"the results file says {w['tier']} {w['class']}")
            if r["views"] != [v for v in range(64) if w["views"] >> v & 1]:
                fail(f"sample {r['sample']}: cameras {r['views']}, the results file "
                     f"says mask {w['views']}")
            if abs(r["entropy"] - w["entropy"]) > 1e-4:
                fail(f"sample {r['sample']}: entropy {r['entropy']} against {w['entropy']}")
            # the fused 1-bit camera features at the local exit, the cloud's 256
            # float features from the cloud
            expect = {"dtype": "bit", "values": 6 * 8 * 8 * 8} if r["tier"] == "device" \
                else {"dtype": "f32", "values": 256}
            if r["features"] != expect:
                fail(f"sample {r['sample']} ({r['tier']}): features {r['features']}")
        print(f"ok: Python read {N} answers' GstDdnnMeta, each equal to the results file")


if __name__ == "__main__":
    main()
