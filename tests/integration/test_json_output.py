#!/usr/bin/python3
"""The ddnn command's JSON output (inspect --json, eval --json, run --json)
is valid JSON whatever the numbers: a model whose cloud weights are finite
but so large that its scores overflow gives null scores, and a
"null_reasons" member says which and why, where printf would have written
"inf" or "nan" and broken every reader.

The model is fmv6-binary with its cloud's exit weights all set to 3e38; the
file's section digest and model id are recomputed here, by the rule
models/README.md gives, so that the loader takes it.

usage: test_json_output.py DDNN_TOOL SOURCE_DIR"""
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile

N = 5


def fail(why):
    print(f"FAIL: {why}")
    sys.exit(1)


def overflowing_model(src, dst, tensor, value):
    raw = bytearray(open(src, "rb").read())
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta, base = header["__metadata__"], 8 + n
    first, end = header[tensor]["data_offsets"]
    for i in range(base + first, base + end, 4):
        raw[i:i + 4] = struct.pack("<f", value)
    sections = [s["name"] for s in json.loads(meta["topology"])["sections"]]
    old = json.loads(meta["section_digests"])
    names = sorted((k for k in header if k != "__metadata__"),
                   key=lambda k: header[k]["data_offsets"][0])
    digests = {}
    for section in sections:
        h = hashlib.sha256()
        for k in names:
            if k.split(".")[0] == section:
                a, b = header[k]["data_offsets"]
                h.update(k.encode() + b"\0" + bytes(raw[base + a:base + b]))
        digests[section] = h.hexdigest()
    model_id = hashlib.sha256(meta["topology"].encode() + b"\0")
    for section in sections:
        model_id.update(section.encode() + b"\0" + digests[section].encode() + b"\0")
    text = raw[8:8 + n].decode()
    for section in sections:
        text = text.replace(old[section], digests[section])
    text = text.replace(meta["model_id"], model_id.hexdigest())
    raw[8:8 + n] = text.encode()
    open(dst, "wb").write(raw)


def run(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def main():
    tool, src = sys.argv[1], sys.argv[2]
    shipped = os.path.join(src, "models", "fmv6-binary.safetensors")
    with tempfile.TemporaryDirectory() as tmp:
        data, bad = os.path.join(tmp, "fmv6"), os.path.join(tmp, "big.safetensors")
        run(tool, "dataset", "fmv", "--out", data, "--seed", "1", "--limit", str(N))
        overflowing_model(shipped, bad, "cloud.exit.0.weight", 3e38)
        for model in (shipped, bad):
            try:
                json.loads(run(tool, "inspect", "--json", model))
                json.loads(run(tool, "eval", "--model", model, "--data", data, "--json"))
                lines = run(tool, "run", model, "--data", data, "--json",
                            "-n", str(N)).splitlines()
                samples = [json.loads(line) for line in lines]
            except json.JSONDecodeError as e:
                fail(f"{os.path.basename(model)}: not JSON: {e}")
            if len(samples) != N:
                fail(f"ddnn run --json gave {len(samples)} lines, not {N}")
            for r in samples:
                nulls = [x for x in r["cloud_scores"] if x is None]
                if model == shipped and (nulls or "null_reasons" in r):
                    fail(f"sample {r['sample']}: nulls from the shipped model: {r}")
                if model == bad:
                    if not nulls:
                        fail(f"sample {r['sample']}: cloud scores {r['cloud_scores']} "
                             f"did not overflow")
                    why = r.get("null_reasons", {}).get("cloud_scores", "")
                    if "not a finite number" not in why:
                        fail(f"sample {r['sample']}: no reason for the nulls: {r}")
                    if any(x is None for x in r["local_scores"]):
                        fail(f"sample {r['sample']}: local scores lost too: {r}")
        print(f"ok: inspect, eval and run give JSON; {N} samples with overflowing "
              f"cloud scores give null scores with their reason")


if __name__ == "__main__":
    main()
