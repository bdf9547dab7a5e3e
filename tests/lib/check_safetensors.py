#!/usr/bin/python3
"""Independent check of ddnn model files and of the engine's forward pass.

For each arch file: `ddnn init` writes a model; this script then reads it the
way any safetensors reader must (header length, JSON, dtypes, offsets that
tile the data, 8-byte alignment), loads every tensor with numpy, recomputes
the section digests and the model id from the documented scheme, and runs a
plain numpy version of every layer on Fashion-MNIST images.  Its scores must
match `ddnn run --json`.

usage: check_safetensors.py DDNN_TOOL ARCH.json [ARCH.json ...]
"""
import gzip
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

IMAGES = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
LABELS = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"
DTYPES = {"F32": ("<f4", 4), "U8": ("u1", 1), "I8": ("i1", 1)}
PARAMS = ["weight", "bias", "gamma", "beta", "running_mean", "running_var"]
N_SAMPLES = 12


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def read_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        fail("header runs past the end")
    if (8 + n) % 8:
        fail("data does not start 8-byte aligned")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        fail("__metadata__ must map strings to strings")
    data = raw[8 + n:]
    tensors, spans = {}, []
    for name, e in header.items():
        np_dtype, size = DTYPES[e["dtype"]]
        begin, end = e["data_offsets"]
        if int(np.prod(e["shape"], dtype=np.int64)) * size != end - begin:
            fail(f"{name}: shape and offsets disagree")
        tensors[name] = np.frombuffer(data[begin:end], dtype=np_dtype).reshape(e["shape"])
        spans.append((begin, end, name))
    spans.sort()
    pos = 0
    for begin, end, name in spans:
        if begin != pos:
            fail(f"{name}: offsets leave a hole or overlap")
        pos = end
    if pos != len(data):
        fail("bytes after the last tensor")
    order = [name for _, _, name in spans]
    return meta, tensors, order


def section_param_names(section):
    """Yields tensor names in canonical order, as the topology implies."""
    for key in ("body", "exit"):
        for i, layer in enumerate(section[key]):
            t = layer["type"]
            if t in ("conv2d", "linear"):
                kinds = ["weight"] + (["bias"] if layer.get("bias") else [])
            elif t == "batchnorm":
                kinds = ["gamma", "beta", "running_mean", "running_var"]
            else:
                kinds = []
            for k in kinds:
                yield f"{section['name']}.{key}.{i}.{k}"


def check_ids(meta, tensors, topo):
    digests = json.loads(meta["section_digests"])
    h_model = hashlib.sha256(meta["topology"].encode() + b"\0")
    for section in topo["sections"]:
        h = hashlib.sha256()
        for name in section_param_names(section):
            h.update(name.encode() + b"\0")
            h.update(tensors[name].tobytes())
        if h.hexdigest() != digests[section["name"]]:
            fail(f"digest of {section['name']} differs from the documented scheme")
        h_model.update(section["name"].encode() + b"\0" + digests[section["name"]].encode() + b"\0")
    if h_model.hexdigest() != meta["model_id"]:
        fail("model id differs from the documented scheme")


def unpack_rows(packed, cols):
    return np.where(np.unpackbits(packed, axis=1, bitorder="little")[:, :cols] == 1, 1.0, -1.0)


def conv2d(x, w, stride, pad, bias, groups=1):
    if groups > 1:
        # each group of filters on its own slice of the channels
        cg, og = x.shape[0] // groups, w.shape[0] // groups
        return np.concatenate([conv2d(x[g * cg:(g + 1) * cg], w[g * og:(g + 1) * og],
                                      stride, pad,
                                      None if bias is None else bias[g * og:(g + 1) * og])
                               for g in range(groups)])
    c, h, wd = x.shape
    o, _, k, _ = w.shape
    xp = np.zeros((c, h + 2 * pad, wd + 2 * pad))
    xp[:, pad:pad + h, pad:pad + wd] = x
    oh = (h + 2 * pad - k) // stride + 1
    ow = (wd + 2 * pad - k) // stride + 1
    out = np.zeros((o, oh, ow))
    for ky in range(k):
        for kx in range(k):
            patch = xp[:, ky:ky + stride * oh:stride, kx:kx + stride * ow:stride]
            out += np.einsum("oc,chw->ohw", w[:, :, ky, kx], patch)
    if bias is not None:
        out += bias[:, None, None]
    return out


def pool(x, k, stride, pad, kind):
    c, h, w = x.shape
    oh = (h + 2 * pad - k) // stride + 1
    ow = (w + 2 * pad - k) // stride + 1
    out = np.zeros((c, oh, ow))
    for y in range(oh):
        for xx in range(ow):
            y0, x0 = y * stride - pad, xx * stride - pad
            win = x[:, max(y0, 0):min(y0 + k, h), max(x0, 0):min(x0 + k, w)]
            out[:, y, xx] = win.max(axis=(1, 2)) if kind == "max" else win.mean(axis=(1, 2))
    return out


def run_layers(layers, prefix, tensors, x):
    for i, layer in enumerate(layers):
        t = layer["type"]
        p = lambda k: tensors.get(f"{prefix}.{i}.{k}")
        if t == "conv2d":
            k, groups = layer["kernel"], layer.get("groups", 1)
            w = p("weight")
            cg = x.shape[0] // groups
            if layer.get("binary"):
                w = unpack_rows(w, cg * k * k).reshape(-1, cg, k, k)
            x = conv2d(x, w.astype(np.float64), layer.get("stride", 1), layer.get("pad", 0),
                       p("bias"), groups)
        elif t == "linear":
            flat = x.reshape(-1)
            w = p("weight")
            if layer.get("binary"):
                w = unpack_rows(w, flat.size)
            x = w.astype(np.float64) @ flat
            if p("bias") is not None:
                x = x + p("bias")
            x = x.reshape(-1, 1, 1)
        elif t in ("maxpool", "avgpool"):
            x = pool(x, layer["kernel"], layer.get("stride", layer["kernel"]), layer.get("pad", 0), t[:3])
        elif t == "batchnorm":
            eps = layer.get("eps", 1e-5)
            shape = (-1, 1, 1)
            x = (x - p("running_mean").reshape(shape)) / np.sqrt(p("running_var").reshape(shape) + eps) \
                * p("gamma").reshape(shape) + p("beta").reshape(shape)
        elif t == "sign":
            x = np.where(x >= 0, 1.0, -1.0)
        elif t == "relu":
            x = np.maximum(x, 0)
    return x


def load_idx(path):
    raw = gzip.open(path).read()
    ndims = raw[3]
    dims = struct.unpack(">" + "I" * ndims, raw[4:4 + 4 * ndims])
    return np.frombuffer(raw[4 + 4 * ndims:], dtype=np.uint8).reshape(dims)


def check_arch(tool, arch, tmp):
    model = os.path.join(tmp, os.path.basename(arch) + ".safetensors")
    subprocess.run([tool, "init", "--arch", arch, "--out", model, "--seed", "3"],
                   check=True, stdout=subprocess.DEVNULL)
    meta, tensors, order = read_safetensors(model)
    topo = json.loads(meta["topology"])
    expected_order = [n for s in topo["sections"] for n in section_param_names(s)]
    if order != expected_order:
        fail("tensors are not stored in canonical order")
    check_ids(meta, tensors, topo)

    out = subprocess.run([tool, "run", model, "--json", "-n", str(N_SAMPLES)],
                         check=True, capture_output=True, text=True).stdout
    results = [json.loads(line) for line in out.splitlines()]
    images = load_idx(IMAGES)
    spec = topo["input"]
    scale = spec.get("scale", 1 / 255)
    mean = np.array(spec.get("mean", [0.0]))[:, None, None]
    std = np.array(spec.get("std", [1.0]))[:, None, None]
    H, W = spec["height"], spec["width"]
    worst = 0.0
    for r in results:
        canvas = np.zeros((1, H, W))
        img = images[r["sample"]]
        oy, ox = (H - img.shape[0]) // 2, (W - img.shape[1]) // 2
        canvas[0, oy:oy + img.shape[0], ox:ox + img.shape[1]] = img
        x = (canvas * scale - mean) / std
        feats = []
        for v, section in enumerate(topo["sections"][:topo["views"]]):
            f = run_layers(section["body"], f"{section['name']}.body", tensors, x)
            s = run_layers(section["exit"], f"{section['name']}.exit", tensors, f).reshape(-1)
            got = np.array(r["device_scores"][v])
            worst = max(worst, np.max(np.abs(got - s) / (1 + np.abs(s))))
            feats.append(f)
        fusion = topo.get("feature_fusion", "concat")
        if fusion == "concat":
            fused = np.concatenate(feats, axis=0)
        elif fusion == "max":
            fused = np.max(feats, axis=0)
        else:
            fused = np.mean(feats, axis=0)
        cloud = topo["sections"][-1]
        f = run_layers(cloud["body"], "cloud.body", tensors, fused)
        s = run_layers(cloud["exit"], "cloud.exit", tensors, f).reshape(-1)
        worst = max(worst, np.max(np.abs(np.array(r["cloud_scores"]) - s) / (1 + np.abs(s))))
    if worst > 1e-3:
        fail(f"{arch}: engine and numpy differ by {worst:.3g} (relative)")
    print(f"ok {os.path.basename(arch)}: container, digests, model id and "
          f"{len(results)} samples' scores match numpy (worst relative error {worst:.2g})")


def main():
    tool, archs = sys.argv[1], sys.argv[2:]
    with tempfile.TemporaryDirectory() as tmp:
        for arch in archs:
            check_arch(tool, arch, tmp)


if __name__ == "__main__":
    main()
