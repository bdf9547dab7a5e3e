#!/usr/bin/python3
"""One training epoch of a ddnn arch file in PyTorch, for `make bench`.

Builds the same network as the arch file (device sections per view, local
fusion by max or avg, feature concat, an edge section with its exit when
there is one, the cloud), the same loss (sum of cross-entropy over device
exits on view labels, the local exit, the edge exit and the cloud exit), Adam, binary weights by sign with a straight-through gradient
and clipping, sign activations with the straight-through estimator.  It
trains on the first N samples of a ddnn data set with the same batch size
and thread count and prints the samples per second.

usage: bench_train_torch.py ARCH.json DATA_DIR SAMPLES THREADS"""
import json
import struct
import sys
import time

import numpy as np
import torch
from torch import nn


class SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.where(x >= 0, 1.0, -1.0)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x.abs() <= 1).float()


class WeightSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, w):
        return torch.where(w >= 0, 1.0, -1.0)

    @staticmethod
    def backward(ctx, g):
        return g


class Sign(nn.Module):
    def forward(self, x):
        return SignSTE.apply(x)


class BinConv(nn.Conv2d):
    def forward(self, x):
        return self._conv_forward(x, WeightSTE.apply(self.weight), self.bias)


class BinLinear(nn.Linear):
    def forward(self, x):
        return nn.functional.linear(x, WeightSTE.apply(self.weight), self.bias)


def build(layers, shape):
    mods, (c, h, w) = [], shape
    flat = False
    for l in layers:
        t = l["type"]
        if t == "conv2d":
            cls = BinConv if l.get("binary") else nn.Conv2d
            k, s, p = l["kernel"], l.get("stride", 1), l.get("pad", 0)
            mods.append(cls(c, l["out"], k, s, p, bias=l.get("bias", False),
                            groups=l.get("groups", 1)))
            c, h, w = l["out"], (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        elif t == "linear":
            if not flat:
                mods.append(nn.Flatten())
            cls = BinLinear if l.get("binary") else nn.Linear
            mods.append(cls(c * h * w, l["out"], bias=l.get("bias", False)))
            c, h, w, flat = l["out"], 1, 1, True
        elif t in ("maxpool", "avgpool"):
            k, s, p = l["kernel"], l.get("stride", l["kernel"]), l.get("pad", 0)
            mods.append(nn.MaxPool2d(k, s, p) if t == "maxpool"
                        else nn.AvgPool2d(k, s, p, count_include_pad=False))
            h, w = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        elif t == "batchnorm":
            mods.append(nn.BatchNorm1d(c) if flat else nn.BatchNorm2d(c))
        elif t == "sign":
            mods.append(Sign())
        elif t == "relu":
            mods.append(nn.ReLU())
    return nn.Sequential(*mods), (c, h, w)


def load(path, n):
    raw = open(path, "rb").read()
    (hn,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + hn])
    body = raw[8 + hn:]

    def get(name):
        b, e = header[name]["data_offsets"]
        return np.frombuffer(body[b:e], dtype=np.uint8).reshape(header[name]["shape"])
    return get("images")[:n], get("labels")[:n], get("view_labels")[:n]


def main():
    arch, data_dir, n, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    topo = json.load(open(arch))
    V = topo["views"]
    if "device" in topo:
        # the device template stands for every view's section not given
        own = {s["view"]: s for s in topo["sections"] if s["tier"] == "device"}
        topo["sections"] = [own.get(v, dict(topo["device"], name=f"device{v}",
                                            tier="device", view=v))
                            for v in range(V)] + \
            [s for s in topo["sections"] if s["tier"] != "device"]
    inp = topo["input"]
    batch = topo.get("training", {}).get("batch", 64)
    devices, dev_exits = nn.ModuleList(), nn.ModuleList()
    for s in topo["sections"][:V]:
        body, shape = build(s["body"], (inp["channels"], inp["height"], inp["width"]))
        exit_, _ = build(s["exit"], shape)
        devices.append(body)
        dev_exits.append(exit_)
    cloud = topo["sections"][-1]
    fshape = (shape[0] * V, shape[1], shape[2])
    edge = next((s for s in topo["sections"] if s["tier"] == "edge"), None)
    upper = nn.ModuleList()
    if edge:
        ebody, fshape = build(edge["body"], fshape)
        eexit, _ = build(edge["exit"], fshape)
        upper.extend([ebody, eexit])
    cbody, cshape = build(cloud["body"], fshape)
    cexit, _ = build(cloud["exit"], cshape)
    params = list(devices.parameters()) + list(dev_exits.parameters()) + \
        list(upper.parameters()) + list(cbody.parameters()) + list(cexit.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    images, labels, view_labels = load(f"{data_dir}/train.safetensors", n)
    # [N, V, H, W, C] to [N, V, C, H, W]
    x_all = (torch.from_numpy(images.astype(np.float32)).permute(0, 1, 4, 2, 3) / 255 - 0.5) / 0.5
    y_all = torch.from_numpy(labels.astype(np.int64))
    vy_all = torch.from_numpy(view_labels.astype(np.int64))
    ce = nn.CrossEntropyLoss(ignore_index=255)
    t0 = time.perf_counter()
    for start in range(0, n - 1, batch):
        x = x_all[start:start + batch]
        y, vy = y_all[start:start + batch], vy_all[start:start + batch]
        feats, loss, scores = [], 0, []
        for v in range(V):
            f = devices[v](x[:, v])
            s = dev_exits[v](f)
            loss = loss + ce(s, vy[:, v])
            feats.append(f)
            scores.append(s)
        local = torch.stack(scores).max(0).values
        fused = torch.cat(feats, 1)
        if edge:
            fused = ebody(fused)
            loss = loss + ce(eexit(fused), y)
        c = cexit(cbody(fused))
        loss = loss + ce(local, y) + ce(c, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            for m in list(devices.modules()) + list(dev_exits.modules()) + \
                    list(upper.modules()) + list(cbody.modules()):
                if isinstance(m, (BinConv, BinLinear)):
                    m.weight.clamp_(-1, 1)
    dt = time.perf_counter() - t0
    print(f"@train {n / dt:.1f}")


if __name__ == "__main__":
    main()
