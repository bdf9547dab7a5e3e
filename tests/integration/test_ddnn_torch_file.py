#!/usr/bin/python3
"""python/ddnn_torch reads and writes model files byte for byte as libddnn:

1. Each shipped model read and written again gives the same bytes; the
   section digests and the model id it recomputes (from the rules in its
   docstring, not from the file) equal those stored.
2. Writing only device0 gives the bytes `ddnn export --sections device0`
   writes.
3. A tensor changed in Python and the file written with its new digest
   and id: the engine loads it, and reports the id Python computed.
4. A byte flipped in a stored tensor: Python refuses the file (its id no
   longer matches), as the engine does.

usage: test_ddnn_torch_file.py DDNN_TOOL SOURCE_DIR"""
import glob
import json
import os
import struct
import subprocess
import sys
import tempfile

from hosts import fail


def main():
    tool, src = sys.argv[1:3]
    try:
        import numpy  # noqa: F401
    except ImportError:
        print("SKIP: python3-numpy is not installed")
        sys.exit(77)
    sys.path.insert(0, os.path.join(src, "python"))
    from ddnn_torch import ModelFile

    with tempfile.TemporaryDirectory() as tmp:
        for path in sorted(glob.glob(os.path.join(src, "models", "*.safetensors"))):
            name = os.path.basename(path)
            data = open(path, "rb").read()
            model = ModelFile.from_bytes(data)
            if model.to_bytes() != data:
                fail(f"{name}: written again, the bytes differ")
            info = json.loads(subprocess.run([tool, "inspect", "--json", path], check=True,
                                             capture_output=True, text=True).stdout)
            if info["model_id"] != model.model_id:
                fail(f"{name}: Python's id {model.model_id}, the engine's {info['model_id']}")

            part = os.path.join(tmp, "device0.safetensors")
            subprocess.run([tool, "export", path, "--sections", "device0", "--out", part],
                           check=True, stdout=subprocess.DEVNULL)
            if model.to_bytes(["device0"]) != open(part, "rb").read():
                fail(f"{name}: device0 alone differs from `ddnn export --sections device0`")

            # a float tensor nudged: new digest, new id, and the engine agrees
            target = next(n for n, (dtype, _, _) in model.tensors.items()
                          if dtype == "F32" and n.startswith("cloud."))
            dtype, shape, raw = model.tensors[target]
            values = bytearray(raw)
            values[0:4] = struct.pack("<f", 1.25)
            tensors = dict(model.tensors)
            tensors[target] = (dtype, shape, bytes(values))
            changed = ModelFile(model.topology_text, tensors, model.digests)
            if changed.model_id == model.model_id:
                fail(f"{name}: changing {target} kept the model id")
            out = os.path.join(tmp, "changed.safetensors")
            changed.save(out)
            info = json.loads(subprocess.run([tool, "inspect", "--json", out], check=True,
                                             capture_output=True, text=True).stdout)
            if info["model_id"] != changed.model_id:
                fail(f"{name}: after a change Python says {changed.model_id}, the engine "
                     f"{info['model_id']}")

            # a flipped byte is refused
            bad = bytearray(data)
            bad[-1] ^= 0x01
            try:
                ModelFile.from_bytes(bytes(bad))
                fail(f"{name}: a flipped byte was not noticed")
            except ValueError as e:
                if "does not match" not in str(e):
                    fail(f"{name}: a flipped byte refused for the wrong reason: {e}")
            print(f"ok: {name}: same bytes written again and as device0 alone; "
                  f"id {model.model_id[:16]} recomputed; a change re-identified as the "
                  f"engine does; a flipped byte refused")


if __name__ == "__main__":
    main()
