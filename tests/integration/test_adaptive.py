#!/usr/bin/python3
"""The adaptive exit, in the element and in the replay.

1. The one-host pipeline (six recorded cameras, fmv6-binary) with ddnnexit
   max-accuracy-drop=1.0 decides every one of 2000 samples as `ddnn eval
   --adaptive accuracy=1.0` does on the same stream: the same samples
   answered locally, the same audits, the same threshold at the end; every
   sample is answered once (an audit is answered locally, and its copy's
   answer only teaches the exit).
2. The same with max-offload=0.3: the same decisions, and the share sent on
   (audits included) within 5 points of 0.3; and with max-bytes=300 (the
   cost model's bytes a sample), within 5 points of the 59.4 % it allows;
   and with max-bytes-per-second=9000 (the same at 30 samples a second,
   the rate measured from the PTS), at most 2 % over the budget.
3. An edge's exit (ddnncloud section=edge, fmv6-edge) with max-offload=0.3:
   every sample answered once, and of the samples reaching the edge,
   0.3 +- 0.05 go on to the cloud (audits included).
4. On drifting streams (`ddnn dataset fmv --drift`), replayed: with an
   accuracy target of 1 point, no window of 1000 samples falls more than
   1.5 points below the cloud-only accuracy; with offload=0.3 every
   window sends 0.3 +- 0.05.

usage: test_adaptive.py DDNN_TOOL SOURCE_DIR PLUGIN_DIR"""
import csv
import json
import os
import re
import subprocess
import sys
import tempfile

from hosts import fail

N = 2000


def pipeline(plugins, model, video, results, target):
    args = ["gst-launch-1.0", "-m", "ddnnaggregate", "name=f", f"model={model}", "!",
            "ddnnexit", "name=x", f"model={model}", target, f"results={results}",
            "x.exit", "!", "fakesink", "async=false",
            "x.next", "!", "ddnncloud", f"model={model}", f"results={results}", "!",
            "fakesink", "async=false"]
    for v in range(6):
        args += ["filesrc", f"location={video}/cam{v}.mkv", "!", "matroskademux", "!",
                 "ddnndevice", f"model={model}", f"view={v}", "!", "f."]
    out = subprocess.run(args, capture_output=True, text=True, timeout=180,
                         env=dict(os.environ, GST_PLUGIN_PATH=plugins))
    if out.returncode != 0:
        fail(f"the pipeline failed: {out.stdout[-1500:]} {out.stderr[-1500:]}")
    last = re.findall(r"ddnn-adaptive, threshold=\(double\)([0-9.e-]+).*?"
                      r"audits=\(guint64\)(\d+)", out.stdout)
    if not last:
        fail("no ddnn-adaptive message")
    return float(last[-1][0]), int(last[-1][1])


def replay(tool, model, data, target, decisions):
    subprocess.run([tool, "eval", "--model", model, "--data", data, "--adaptive", target,
                    "--decisions", decisions], check=True, stdout=subprocess.DEVNULL)
    return {int(r["sample"]): r for r in csv.DictReader(open(decisions))}


def same_decisions(tool, plugins, model, data, video, tmp, prop, target):
    results = os.path.join(tmp, f"{prop}.jsonl")
    threshold, audits = pipeline(plugins, model, video, results, prop)
    tiers = {}
    for line in open(results):
        r = json.loads(line)
        if r["sample"] in tiers:
            fail(f"{prop}: sample {r['sample']} answered twice")
        tiers[r["sample"]] = r["tier"]
    if sorted(tiers) != list(range(N)):
        fail(f"{prop}: {len(tiers)} samples answered, not {N}")
    want = replay(tool, model, data, target, os.path.join(tmp, f"{prop}.csv"))
    wrong = [s for s in range(N) if (tiers[s] == "device") != (want[s]["decision"] != "next")]
    if wrong:
        s = wrong[0]
        fail(f"{prop}: {len(wrong)} samples decided otherwise than the replay, e.g. {s}: "
             f"{tiers[s]} against {want[s]['decision']}")
    replay_audits = sum(r["decision"] == "audit" for r in want.values())
    if audits != replay_audits or abs(threshold - float(want[N - 1]["threshold"])) > 1e-5:
        fail(f"{prop}: element {audits} audits, threshold {threshold}; replay "
             f"{replay_audits}, {want[N - 1]['threshold']}")
    sent = sum(r["decision"] != "exit" for r in want.values()) / N
    print(f"ok: {prop}: all {N} decisions equal the replay's ({audits} audits, "
          f"threshold {threshold:.3f} at the end, {100 * sent:.1f} % sent on)")
    return sent


def main():
    tool, src, plugins = sys.argv[1:4]
    model = os.path.join(src, "models", "fmv6-binary.safetensors")
    with tempfile.TemporaryDirectory() as tmp:
        data, video = os.path.join(tmp, "fmv"), os.path.join(tmp, "video")
        subprocess.run([tool, "dataset", "fmv", "--out", data, "--seed", "1", "--limit", str(N),
                        "--video", video], check=True, stdout=subprocess.DEVNULL)
        same_decisions(tool, plugins, model, data, video, tmp, "max-accuracy-drop=1.0",
                       "accuracy=1.0")
        sent = same_decisions(tool, plugins, model, data, video, tmp, "max-offload=0.3",
                              "offload=0.3")
        if abs(sent - 0.3) > 0.05:
            fail(f"max-offload=0.3 sent {100 * sent:.1f} % on")
        # 300 B a sample: 6 x 12 B of int8 scores always, 6 x 64 B of 1-bit
        # features for a sample sent on, so (300 - 72) / 384 = 59.4 %
        sent = same_decisions(tool, plugins, model, data, video, tmp, "max-bytes=300",
                              "bytes=300")
        if abs(sent - 228 / 384) > 0.05:
            fail(f"max-bytes=300 sent {100 * sent:.1f} % on, not about 59.4 %")
        # 9000 B a second at the recording's 30 frames a second: the same
        # 300 B a sample, the rate measured from the samples' PTS
        sent = same_decisions(tool, plugins, model, data, video, tmp,
                              "max-bytes-per-second=9000", "bytes-per-second=9000")
        rate = (N * 72 + sent * N * 384) / (N / 30)
        if not 0.9 * 9000 <= rate <= 1.02 * 9000:
            fail(f"max-bytes-per-second=9000 spent {rate:.0f} B/s")
        print(f"ok: max-bytes-per-second=9000 spent {rate:.0f} B/s")

        edge_model = os.path.join(src, "models", "fmv6-edge.safetensors")
        results = os.path.join(tmp, "edge.jsonl")
        args = ["gst-launch-1.0", "-m", "ddnnaggregate", "name=f", f"model={edge_model}", "!",
                "ddnnexit", "name=x", f"model={edge_model}", f"results={results}",
                "x.exit", "!", "fakesink", "async=false", "x.next", "!",
                "ddnncloud", "name=edge", "section=edge", f"model={edge_model}",
                "max-offload=0.3", f"results={results}", "edge.src", "!", "fakesink",
                "async=false", "edge.next", "!", "ddnncloud", f"model={edge_model}",
                f"results={results}", "!", "fakesink", "async=false"]
        for v in range(6):
            args += ["filesrc", f"location={video}/cam{v}.mkv", "!", "matroskademux", "!",
                     "ddnndevice", f"model={edge_model}", f"view={v}", "!", "f."]
        out = subprocess.run(args, capture_output=True, text=True, timeout=180,
                             env=dict(os.environ, GST_PLUGIN_PATH=plugins))
        if out.returncode != 0:
            fail(f"edge: the pipeline failed: {out.stdout[-1500:]}")
        tiers = {}
        for line in open(results):
            r = json.loads(line)
            if r["sample"] in tiers:
                fail(f"edge: sample {r['sample']} answered twice")
            tiers[r["sample"]] = r["tier"]
        if sorted(tiers) != list(range(N)):
            fail(f"edge: {len(tiers)} samples answered, not {N}")
        audits = [int(a) for a in re.findall(
            r'element "edge".*?ddnn-adaptive.*?audits=\(guint64\)(\d+)', out.stdout)]
        reached = sum(t != "device" for t in tiers.values())
        sent = sum(t == "cloud" for t in tiers.values())
        # audits: from the edge's figures at EOS (its last message)
        if not audits:
            fail("edge: no ddnn-adaptive message from the edge")
        share = (sent + audits[-1]) / reached
        if abs(share - 0.3) > 0.05:
            fail(f"edge: max-offload=0.3 sent {100 * share:.1f} % of its {reached} samples on")
        print(f"ok: an adaptive edge exit (max-offload=0.3) sent {100 * share:.1f} % of the "
              f"{reached} samples it saw to the cloud; every sample answered once")

        for drift in ("noise", "contrast", "occlusion"):
            folder = os.path.join(tmp, drift)
            subprocess.run([tool, "dataset", "fmv", "--out", folder, "--seed", "3", "--limit",
                            "4000", "--drift", drift, "--drift-start", "1000"], check=True,
                           stdout=subprocess.DEVNULL)
            runs = {}
            for target in ("accuracy=1.0", "offload=0.3"):
                out = subprocess.run([tool, "eval", "--model", model, "--data", folder, "--json",
                                      "--adaptive", target, "--window", "1000"], check=True,
                                     capture_output=True, text=True).stdout
                runs[target] = json.loads(out.splitlines()[-1])
            acc = runs["accuracy=1.0"]
            if acc["worst_window_drop_adaptive"] > 1.5:
                fail(f"{drift}: a window fell {acc['worst_window_drop_adaptive']} points below "
                     f"the cloud alone with accuracy=1.0")
            off = [w["adaptive_sent"] for w in runs["offload=0.3"]["windows"]]
            if any(abs(f - 0.3) > 0.05 for f in off):
                fail(f"{drift}: offload=0.3 sent {off} by window")
            print(f"ok: {drift}: worst window {acc['worst_window_drop_adaptive']} points below "
                  f"the cloud alone (fixed threshold: {acc['worst_window_drop_fixed']}); "
                  f"offload=0.3 sent {min(off):.3f} to {max(off):.3f} by window")


if __name__ == "__main__":
    main()
