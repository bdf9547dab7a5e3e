#!/usr/bin/python3
"""`python3 -m ddnn_torch train` writes what `ddnn train` writes:

1. fmv6-binary trained one epoch in PyTorch on 3000 FMV-6 samples: the
   engine loads the file; its topology is `ddnn train`'s for the same arch
   and data (the long form, classes, training settings) but for the
   threshold values, its tensors have the same names, dtypes and shapes in
   the same order, its metadata the same keys; and its local threshold
   lets at least the arch's exit_target of the held-out samples exit
   locally (`ddnn eval` on them), as libddnn's rule does.
2. Two processes (torch.distributed over gloo, started as torchrun starts
   them) against one, fmv6-float, the same global batch and seed, three
   steps: the first step's loss agrees within 1e-6 relative and the next
   ones within 1e-4, and so do the weights:
   every value within 2 lr per step (Adam turns a near-zero gradient into
   a step of +-lr whatever its size, so a summation-order difference may
   flip one), and 99 % of them within 1e-4.

Skips (77) without Debian's python3-torch.

usage: test_ddnn_torch_train.py DDNN_TOOL SOURCE_DIR"""
import json
import os
import socket
import subprocess
import sys
import tempfile

from hosts import fail

N = 3000


def main():
    tool, src = sys.argv[1:3]
    try:
        import numpy as np
        import torch  # noqa: F401
    except ImportError as e:
        print(f"SKIP: {e.name} is not installed (Debian's python3-torch, python3-numpy)")
        sys.exit(77)
    sys.path.insert(0, os.path.join(src, "python"))
    from ddnn_torch import ModelFile

    env = dict(os.environ, PYTHONPATH=os.path.join(src, "python"))
    py = [sys.executable, "-m", "ddnn_torch", "train"]
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "fmv6")
        subprocess.run([tool, "dataset", "fmv", "--out", data, "--seed", "2", "--limit", str(N)],
                       check=True, stdout=subprocess.DEVNULL)

        # 1. the same file as ddnn train's, but for the weights and thresholds
        arch = os.path.join(src, "models", "fmv6-binary.json")
        mine, theirs = os.path.join(tmp, "torch.safetensors"), os.path.join(tmp, "c.safetensors")
        out = subprocess.run(py + ["--arch", arch, "--data", data, "--out", mine, "--epochs", "1"],
                             env=env, capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            fail(f"ddnn_torch train failed: {out.stderr[-2000:]}")
        subprocess.run([tool, "train", "--arch", arch, "--data", data, "--out", theirs,
                        "--epochs", "1"], check=True, stdout=subprocess.DEVNULL, timeout=600)
        a, b = ModelFile.load(mine), ModelFile.load(theirs)
        ta, tb = json.loads(a.topology_text), json.loads(b.topology_text)
        ta["thresholds"] = tb["thresholds"]
        if json.dumps(ta) != json.dumps(tb):
            fail("the topology differs from ddnn train's beyond the thresholds")
        if [(n, t[0], t[1]) for n, t in a.tensors.items()] != \
                [(n, t[0], t[1]) for n, t in b.tensors.items()]:
            fail("the tensors' names, dtypes or shapes differ from ddnn train's")
        info = json.loads(subprocess.run([tool, "inspect", "--json", mine], check=True,
                                         capture_output=True, text=True).stdout)
        if info["model_id"] != a.model_id:
            fail(f"the engine reads id {info['model_id']}, the file says {a.model_id}")
        hold = min(5000, N // 10)
        held = json.loads(subprocess.run(
            [tool, "eval", "--model", mine, "--data", data, "--split", "train", "--skip",
             str(N - hold), "--json"], check=True, capture_output=True, text=True).stdout
            .splitlines()[0])
        target = json.loads(open(arch).read())["training"]["exit_target"]
        if held["local_exit_fraction"] < target:
            fail(f"{held['local_exit_fraction']} of the held-out samples exit locally, "
                 f"under the target {target}")
        print(f"ok: trained in PyTorch, the file is ddnn train's but for weights and "
              f"thresholds (local {json.loads(a.topology_text)['thresholds']['local']}: "
              f"{100 * held['local_exit_fraction']:.1f} % of the held-out samples exit "
              f"locally, target {100 * target:.0f} %)")

        # 2. two processes equal one
        arch = os.path.join(src, "models", "fmv6-float.json")
        one, two = os.path.join(tmp, "one.safetensors"), os.path.join(tmp, "two.safetensors")
        args = ["--arch", arch, "--data", data, "--steps", "3"]
        subprocess.run(py + args + ["--out", one, "--losses", one + ".json"], env=env,
                       check=True, capture_output=True, timeout=600)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        procs = [subprocess.Popen(py + args + ["--out", two, "--losses", two + ".json"],
                                  env=dict(env, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port),
                                           WORLD_SIZE="2", RANK=str(r), LOCAL_RANK=str(r)),
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for r in range(2)]
        for p in procs:
            log = p.communicate(timeout=600)[0]
            if p.returncode != 0:
                fail(f"a process of two failed: {log[-2000:]}")
        l1, l2 = json.load(open(one + ".json")), json.load(open(two + ".json"))
        # the first step's loss is the same sums in another order; later
        # ones follow weights that Adam may have moved +-lr apart
        if len(l1) != 3 or abs(l1[0] - l2[0]) > 1e-6 * abs(l1[0]) or \
                any(abs(x - y) > 1e-4 * abs(x) for x, y in zip(l1, l2)):
            fail(f"losses: one process {l1}, two {l2}")
        a, b = ModelFile.load(one), ModelFile.load(two)
        lr, diffs = 1e-3, []
        for name, (dtype, shape, raw) in a.tensors.items():
            if "running" in name:
                continue
            x = np.frombuffer(raw, np.float32)
            y = np.frombuffer(b.tensors[name][2], np.float32)
            diffs.append(np.abs(x - y))
        d = np.concatenate(diffs)
        if d.max() > 2 * lr * 3 + 1e-6 or np.mean(d <= 1e-4) < 0.99:
            fail(f"weights: largest difference {d.max():.2e}, {100 * np.mean(d <= 1e-4):.2f} % "
                 f"within 1e-4")
        print(f"ok: two processes (gloo) equal one over 3 steps: losses "
              f"{[round(x, 5) for x in l1]} and {[round(x, 5) for x in l2]}, weights at "
              f"most {d.max():.1e} apart, "
              f"{100 * np.mean(d <= 1e-4):.2f} % within 1e-4")


if __name__ == "__main__":
    main()
