#!/usr/bin/python3
"""The device template of architecture files ("device": {...}, see
models/README.md):

- `ddnn export --arch` writes a shipped model's architecture in the short
  form, and `ddnn init` on it stores exactly the topology the shipped model
  stores, byte for byte (so training it again gives the same file);
- the short arch files in models/ describe the shipped models: expanded,
  they are the shipped topology member for member, thresholds aside (those
  are chosen by training);
- a view with its own device section keeps it, the template fills the
  others, and the short form of that model keeps only the one that differs;
- a malformed template is refused with a message that names the problem.

usage: test_arch_template.py DDNN_TOOL SOURCE_DIR"""
import json
import os
import subprocess
import sys
import tempfile

from hosts import topology

MODELS = ["fmv6-paper", "fmv6-binary", "fmv6-float"]


def fail(why):
    print(f"FAIL: {why}")
    sys.exit(1)


def ordered(text):
    return json.loads(text, object_pairs_hook=list)


def without_thresholds(pairs):
    return [(k, v) for k, v in pairs if k != "thresholds"]


def main():
    tool, src = sys.argv[1], sys.argv[2]

    def ddnn(*args, ok=True):
        p = subprocess.run([tool, *args], capture_output=True, text=True)
        if ok and p.returncode != 0:
            fail(f"ddnn {' '.join(args)}: {p.stderr}")
        return p

    with tempfile.TemporaryDirectory() as tmp:
        for name in MODELS:
            shipped = os.path.join(src, "models", name + ".safetensors")
            short, again = os.path.join(tmp, name + ".json"), os.path.join(tmp, name + ".st")
            ddnn("export", shipped, "--arch", short)
            if "device" not in json.load(open(short)):
                fail(f"{name}: the exported arch has no device template")
            ddnn("init", "--arch", short, "--out", again, "--seed", "1")
            if topology(again) != topology(shipped):
                fail(f"{name}: the short form does not give the shipped topology back")
            size_short, size_long = os.path.getsize(short), len(topology(shipped))
            if size_short >= size_long:
                fail(f"{name}: short form {size_short} B, long {size_long} B")

            arch = os.path.join(src, "models", name + ".json")
            if "device" not in json.load(open(arch)):
                fail(f"models/{name}.json is not in the short form")
            ddnn("init", "--arch", arch, "--out", again, "--seed", "1")
            if without_thresholds(ordered(topology(again))) != \
                    without_thresholds(ordered(topology(shipped))):
                fail(f"models/{name}.json does not describe models/{name}.safetensors")
            print(f"ok {name}: short form {size_short} B for a {size_long} B topology, "
                  f"the same model")

        # one view of its own: binary cameras but camera 2 with float weights
        arch = json.load(open(os.path.join(src, "models", "fmv6-binary.json")))
        own = {"name": "device2", "tier": "device", "view": 2,
               "body": [dict(layer) for layer in arch["device"]["body"]],
               "exit": arch["device"]["exit"]}
        for layer in own["body"]:
            layer.pop("binary", None)
        arch["sections"].insert(0, own)
        mixed, model = os.path.join(tmp, "mixed.json"), os.path.join(tmp, "mixed.st")
        json.dump(arch, open(mixed, "w"))
        ddnn("init", "--arch", mixed, "--out", model, "--seed", "1")
        sections = json.loads(topology(model))["sections"]
        names = [s["name"] for s in sections]
        if names != [f"device{v}" for v in range(6)] + ["cloud"]:
            fail(f"sections {names}")
        if any(layer.get("binary") for layer in sections[2]["body"]) or \
                not sections[1]["body"][0].get("binary"):
            fail("view 2 did not keep its own section, or the others lost the template")
        ddnn("export", model, "--arch", os.path.join(tmp, "mixed-short.json"))
        back = json.load(open(os.path.join(tmp, "mixed-short.json")))
        if [s["name"] for s in back["sections"]] != ["device2", "cloud"]:
            fail(f"short form of the mixed model: {[s['name'] for s in back['sections']]}")
        print("ok: a view's own device section is kept, the template fills the others")

        # malformed templates
        for change, why in ((lambda a: a["device"].update(stride=2), "unknown field 'stride'"),
                            (lambda a: a["device"].pop("exit"), "needs a body and an exit"),
                            (lambda a: a.update(device=[1]), "must be an object"),
                            (lambda a: a.pop("views"), "needs 'views'")):
            bad = json.load(open(os.path.join(src, "models", "fmv6-binary.json")))
            change(bad)
            path = os.path.join(tmp, "bad.json")
            json.dump(bad, open(path, "w"))
            p = ddnn("init", "--arch", path, "--out", os.path.join(tmp, "bad.st"), ok=False)
            if p.returncode == 0 or why not in p.stderr:
                fail(f"a template with {why!r} gave exit {p.returncode}: {p.stderr!r}")
        print("ok: malformed templates are refused with their reason")


if __name__ == "__main__":
    main()
