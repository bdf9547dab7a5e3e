#!/usr/bin/python3
"""python/ddnn_torch's torch.nn.Module computes what the engine computes:

1. Each shipped model loaded into a DdnnNetwork and run on 200 FMV-6 test
   samples: the tier and the class of every sample equal `ddnn run`'s; the
   devices', edge's and cloud's scores are within 1e-4, and so are the
   fused local scores, but for int8-wire models, where one float16 step of
   a camera's scale (2^-11 relative, times |q| <= 127) is allowed: the
   scale is rounded from the largest score, and a last-bit difference in
   that score may land on the other side of a float16 rounding boundary.
2. Exported again from the module, each shipped model's file has the same
   bytes.
3. New weights (the module's own random initialisation, random batch norm
   statistics) exported as a model file: the engine loads it, and its
   answers on the same samples equal the module's, as in 1.

usage: test_ddnn_torch_network.py DDNN_TOOL SOURCE_DIR"""
import glob
import json
import os
import subprocess
import sys
import tempfile

from hosts import fail

N = 200


def compare(tool, net, path, data, images, where):
    import numpy as np
    import torch

    with torch.no_grad():
        out = net(net.prepare(images))
    run = subprocess.run([tool, "run", path, "--data", data, "--json", "-n", str(N)],
                         check=True, capture_output=True, text=True).stdout
    worst = 0.0
    for i, line in enumerate(run.splitlines()):
        r = json.loads(line)
        if (r["tier"], r["answer"]) != (out["tier"][i], out["answer"][i]):
            fail(f"{where}: sample {i}: engine {r['tier']} {r['answer']}, module "
                 f"{out['tier'][i]} {out['answer'][i]}")
        pairs = [(r["cloud_scores"], out["cloud_scores"][i], 1e-4)]
        pairs += [(r["device_scores"][v], out["device_scores"][v][i], 1e-4)
                  for v in range(len(r["device_scores"]))]
        if "edge_scores" in out:
            pairs.append((r["edge_scores"], out["edge_scores"][i], 1e-4))
        local_tol = 1e-4
        if net.int8:
            top = max(float(out["device_scores"][v][i].abs().max())
                      for v in range(len(out["device_scores"])))
            local_tol = max(1e-4, 127 * (top / 127) * 2.0 ** -10)
        pairs.append((r["local_scores"], out["local_scores"][i], local_tol))
        for want, got, tol in pairs:
            d = float(np.abs(np.array(want, dtype=np.float64) - got.numpy()).max())
            worst = max(worst, d)
            if d > tol:
                fail(f"{where}: sample {i}: scores differ by {d:.2e} (at most {tol:.1e})")
    return worst


def main():
    tool, src = sys.argv[1:3]
    try:
        import numpy as np
        import torch
    except ImportError as e:
        print(f"SKIP: {e.name} is not installed (Debian's python3-torch, python3-numpy)")
        sys.exit(77)
    sys.path.insert(0, os.path.join(src, "python"))
    from ddnn_torch import DdnnNetwork, ModelFile, read_safetensors

    torch.manual_seed(1)
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "fmv6")
        subprocess.run([tool, "dataset", "fmv", "--out", data, "--seed", "1", "--limit",
                        str(N)], check=True, stdout=subprocess.DEVNULL)
        tensors, _ = read_safetensors(open(os.path.join(data, "test.safetensors"), "rb").read())
        dtype, shape, raw = tensors["images"]
        images = np.frombuffer(raw, np.uint8).reshape(shape)[:N]
        for path in sorted(glob.glob(os.path.join(src, "models", "*.safetensors"))):
            name = os.path.basename(path)
            model = ModelFile.load(path)
            net = DdnnNetwork.from_model_file(model)
            worst = compare(tool, net, path, data, images, name)
            if net.to_model_file(model.topology_text).to_bytes() != open(path, "rb").read():
                fail(f"{name}: exported from the module, the bytes differ")

            fresh = DdnnNetwork(model.topology_text)
            with torch.no_grad():
                for m in fresh.modules():
                    if hasattr(m, "running_var"):
                        m.running_mean.uniform_(-0.5, 0.5)
                        m.running_var.uniform_(0.5, 2.0)
                        m.gamma.uniform_(0.5, 1.5)
                        m.beta.uniform_(-0.2, 0.2)
            fresh.eval()
            out = os.path.join(tmp, "fresh.safetensors")
            fresh.to_model_file(model.topology_text).save(out)
            worst_fresh = compare(tool, fresh, out, data, images, f"{name}, new weights")
            print(f"ok: {name}: {N} samples, tier and class equal to the engine's (scores "
                  f"within {worst:.1e}); exported again byte for byte; with new weights "
                  f"the engine agrees too (within {worst_fresh:.1e})")


if __name__ == "__main__":
    main()
