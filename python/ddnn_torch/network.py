"""A ddnn model as a torch.nn.Module, computing what the engine computes.

`DdnnNetwork(topology)` builds every section of a topology (the long form a
model file stores, or an architecture with a device template), with its
state_dict keys named as the model file's tensors (`device0.body.0.weight`,
`cloud.exit.0.bias`...).  `from_model_file` loads a model file's weights;
`to_model_file` writes the module's weights back as a model file: binary
weights packed by sign, batch norm's statistics as they are.  `forward`
runs a batch of samples through every tier in inference mode and returns
each tier's scores, entropies and the answer, following the rules in
models/README.md ("What a reader of these files must do").

SPDX-License-Identifier: LGPL-2.1-or-later"""
import copy
import json
import math
from collections import OrderedDict

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from .modelfile import ModelFile


def expand_template(topology):
    """The long form: the device template stands for every view's section
    that `sections` does not give, named deviceV."""
    topo = copy.deepcopy(topology)
    template = topo.pop("device", None)
    if template is None:
        return topo
    own = {s["view"]: s for s in topo["sections"] if s["tier"] == "device"}
    devices = []
    for v in range(topo["views"]):
        if v in own:
            devices.append(own[v])
        else:
            s = OrderedDict([("name", f"device{v}"), ("tier", "device"), ("view", v)])
            s.update(copy.deepcopy(template))
            devices.append(s)
    topo["sections"] = devices + [s for s in topo["sections"] if s["tier"] != "device"]
    return topo


class SignSTE(torch.autograd.Function):
    """+1 for x >= 0, -1 otherwise; the gradient passes where |x| <= 1."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x.abs() <= 1).to(g.dtype)


class WeightSign(torch.autograd.Function):
    """Binary weights: the sign forward, the gradient straight through."""

    @staticmethod
    def forward(ctx, w):
        return torch.where(w >= 0, 1.0, -1.0).to(w.dtype)

    @staticmethod
    def backward(ctx, g):
        return g


class Conv(nn.Module):
    def __init__(self, c_in, spec):
        super().__init__()
        self.out, self.k = spec["out"], spec["kernel"]
        self.stride, self.pad = spec.get("stride", 1), spec.get("pad", 0)
        self.groups = spec.get("groups", 1)
        self.binary = spec.get("binary", False)
        self.in_per_group = c_in // self.groups
        self.weight = nn.Parameter(torch.empty(self.out, self.in_per_group, self.k, self.k))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        self.bias = nn.Parameter(torch.zeros(self.out)) if spec.get("bias") else None

    def forward(self, x):
        w = WeightSign.apply(self.weight) if self.binary else self.weight
        return F.conv2d(x, w, self.bias, self.stride, self.pad, 1, self.groups)


class Linear(nn.Module):
    def __init__(self, n_in, spec):
        super().__init__()
        self.binary = spec.get("binary", False)
        self.weight = nn.Parameter(torch.empty(spec["out"], n_in))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        self.bias = nn.Parameter(torch.zeros(spec["out"])) if spec.get("bias") else None

    def forward(self, x):
        w = WeightSign.apply(self.weight) if self.binary else self.weight
        # channel-major, as numpy's reshape(-1) of [C, H, W]
        return F.linear(x.flatten(1), w, self.bias)


class _AllReduce(torch.autograd.Function):
    """Sums over every process, with the gradient summed back (what
    torch.distributed.nn.all_reduce does)."""

    @staticmethod
    def forward(ctx, x):
        x = x.clone()
        dist.all_reduce(x)
        return x

    @staticmethod
    def backward(ctx, g):
        g = g.clone()
        dist.all_reduce(g)
        return g


def _batch_norm(self, x):
    """Batch norm; in training, over the global batch when several
    processes share it (torch.distributed initialized)."""
    if not (self.training and dist.is_available() and dist.is_initialized()):
        return F.batch_norm(x, self.running_mean, self.running_var, self.gamma, self.beta,
                            self.training, 0.1, self.eps)
    dims = [0] + list(range(2, x.dim()))
    shape = [1, -1] + [1] * (x.dim() - 2)
    count = torch.tensor([float(x.numel() // x.shape[1])])
    dist.all_reduce(count)
    total = _AllReduce.apply(x.sum(dims))
    mean = total / count
    sq = _AllReduce.apply(((x - mean.view(shape)) ** 2).sum(dims))
    var = sq / count
    with torch.no_grad():
        self.running_mean.mul_(0.9).add_(0.1 * mean)
        self.running_var.mul_(0.9).add_(0.1 * sq / max(count.item() - 1, 1))
    return (x - mean.view(shape)) / torch.sqrt(var.view(shape) + self.eps) * \
        self.gamma.view(shape) + self.beta.view(shape)




class BatchNorm(nn.Module):
    """Batch norm with the model file's names: gamma, beta, running_mean,
    running_var."""

    def __init__(self, channels, spec):
        super().__init__()
        self.eps = spec.get("eps", 1e-5)
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    forward = _batch_norm


class Sign(nn.Module):
    def forward(self, x):
        return SignSTE.apply(x)


def build_layers(specs, shape):
    """nn.ModuleList of @specs on a C x H x W input, and the output shape."""
    layers, (c, h, w) = nn.ModuleList(), shape
    for spec in specs:
        t = spec["type"]
        if t == "conv2d":
            layers.append(Conv(c, spec))
            k, s, p = spec["kernel"], spec.get("stride", 1), spec.get("pad", 0)
            c, h, w = spec["out"], (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        elif t == "linear":
            layers.append(Linear(c * h * w, spec))
            c, h, w = spec["out"], 1, 1
        elif t in ("maxpool", "avgpool"):
            k, s, p = spec["kernel"], spec.get("stride", spec["kernel"]), spec.get("pad", 0)
            layers.append(nn.MaxPool2d(k, s, p) if t == "maxpool"
                          else nn.AvgPool2d(k, s, p, count_include_pad=False))
            h, w = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        elif t == "batchnorm":
            layers.append(BatchNorm(c, spec))
        elif t == "sign":
            layers.append(Sign())
        elif t == "relu":
            layers.append(nn.ReLU())
        else:
            raise ValueError(f"unknown layer type {t!r}")
    return layers, (c, h, w)


class Section(nn.Module):
    def __init__(self, spec, shape):
        super().__init__()
        self.body, self.shape = build_layers(spec["body"], shape)
        self.exit, _ = build_layers(spec["exit"], self.shape)

    def features(self, x):
        for layer in self.body:
            x = layer(x)
        return x

    def scores(self, f):
        for layer in self.exit:
            f = layer(f)
        return f


def _round_half_away(x):
    return torch.sign(x) * torch.floor(torch.abs(x) + 0.5)


def _float16_scale(m):
    """max|s| / 127 rounded to float16's 11 significant bits (half away from
    zero), held in float16's normal range; 1 when every score is 0."""
    out = []
    for v in (m / 127.0).tolist():
        v = np.float32(v)
        if v == 0:
            out.append(1.0)
            continue
        e = math.floor(math.log2(v))
        quantum = 2.0 ** (e - 10)
        r = math.floor(v / quantum + 0.5) * quantum
        out.append(min(max(r, 2.0 ** -14), 65504.0))
    return torch.tensor(out, dtype=torch.float32).unsqueeze(1)


def quantize_int8(s):
    """The wire's int8 scores, as the engine fuses them: q * scale."""
    scale = _float16_scale(s.abs().max(dim=1).values)
    q = torch.clamp(_round_half_away(s / scale), -127, 127)
    return q * scale


def normalized_entropy(s):
    p = torch.softmax(s, dim=1)
    logp = torch.log_softmax(s, dim=1)
    return -(p * logp).sum(1) / math.log(s.shape[1])


class DdnnNetwork(nn.Module):
    def __init__(self, topology):
        super().__init__()
        if isinstance(topology, str):
            topology = json.loads(topology, object_pairs_hook=OrderedDict)
        self.topology = expand_template(topology)
        t = self.topology
        inp = t["input"]
        self.channels, self.height, self.width = inp["channels"], inp["height"], inp["width"]
        self.scale = inp.get("scale", 1 / 255)
        self.mean = inp.get("mean", [0.0] * self.channels)
        self.std = inp.get("std", [1.0] * self.channels)
        self.views = t["views"]
        self.local_fusion = t.get("local_fusion", "max")
        self.feature_fusion = t.get("feature_fusion", "concat")
        self.int8 = t.get("wire", {}).get("scores", "f32") == "int8"
        self.thresholds = t.get("thresholds", {})
        # each section a child of its own name, so that state_dict keys are
        # the model file's tensor names
        self.sections = OrderedDict()
        shape = None
        for spec in t["sections"]:
            if spec["tier"] == "device":
                sec = Section(spec, (self.channels, self.height, self.width))
                c, h, w = sec.shape
                shape = (c * self.views if self.feature_fusion == "concat" else c, h, w)
            else:
                sec = Section(spec, shape)
                shape = sec.shape
            self.add_module(spec["name"], sec)
            self.sections[spec["name"]] = sec
        self.device_names = [s["name"] for s in t["sections"] if s["tier"] == "device"]
        self.edge_name = next((s["name"] for s in t["sections"] if s["tier"] == "edge"), None)
        self.cloud_name = next(s["name"] for s in t["sections"] if s["tier"] == "cloud")

    def prepare(self, images):
        """[N, V, H, W, C] uint8 pictures to the devices' float input
        [N, V, C, H, W]."""
        x = torch.from_numpy(np.array(images, dtype=np.float32)) * np.float32(self.scale)
        x = x.permute(0, 1, 4, 2, 3)
        mean = torch.tensor(self.mean, dtype=torch.float32).view(1, 1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=torch.float32).view(1, 1, -1, 1, 1)
        return (x - mean) / std

    def forward(self, x, views_alive=None):
        """Every tier on a batch [N, V, C, H, W]; a dict of scores and
        entropies, the tier ("local", "edge", "cloud") and the answer."""
        alive = views_alive if views_alive is not None else list(range(self.views))
        feats, device_scores = [], []
        for v, name in enumerate(self.device_names):
            sec = self.sections[name]
            f = sec.features(x[:, v])
            device_scores.append(sec.scores(f))
            feats.append(f if v in alive else torch.zeros_like(f))
        wire = [quantize_int8(s) if self.int8 else s for s in device_scores]
        present = torch.stack([wire[v] for v in alive])
        local = present.max(0).values if self.local_fusion == "max" else present.mean(0)
        if self.feature_fusion == "concat":
            fused = torch.cat(feats, 1)
        elif self.feature_fusion == "max":
            fused = torch.stack([feats[v] for v in alive]).max(0).values
        else:
            fused = torch.stack([feats[v] for v in alive]).mean(0)
        out = {"device_scores": device_scores, "local_scores": local,
               "local_entropy": normalized_entropy(local)}
        upper = fused
        if self.edge_name:
            sec = self.sections[self.edge_name]
            upper = sec.features(fused)
            out["edge_scores"] = sec.scores(upper)
            out["edge_entropy"] = normalized_entropy(out["edge_scores"])
        sec = self.sections[self.cloud_name]
        out["cloud_scores"] = sec.scores(sec.features(upper))
        n = x.shape[0]
        tier, answer = [], []
        for i in range(n):
            if out["local_entropy"][i] < self.thresholds.get("local", 0.5):
                tier.append("local")
                answer.append(int(local[i].argmax()))
            elif self.edge_name and out["edge_entropy"][i] < self.thresholds.get("edge", 0.5):
                tier.append("edge")
                answer.append(int(out["edge_scores"][i].argmax()))
            else:
                tier.append("cloud")
                answer.append(int(out["cloud_scores"][i].argmax()))
        out["tier"], out["answer"] = tier, answer
        return out

    # --- model files -------------------------------------------------------

    def load_model_file(self, model):
        """Loads a ModelFile's tensors (binary weights unpacked to +-1)."""
        state = self.state_dict()
        for name, target in state.items():
            if name not in model.tensors:
                raise ValueError(f"the model file has no tensor {name}")
            dtype, shape, raw = model.tensors[name]
            if dtype == "U8":
                bits = np.unpackbits(np.frombuffer(raw, np.uint8).reshape(shape), axis=1,
                                     bitorder="little")[:, :target[0].numel()]
                value = np.where(bits == 1, 1.0, -1.0).astype(np.float32)
            else:
                value = np.frombuffer(raw, np.float32).copy()
            with torch.no_grad():
                target.copy_(torch.from_numpy(value).reshape(target.shape))

    @classmethod
    def from_model_file(cls, model):
        if isinstance(model, str):
            model = ModelFile.load(model)
        net = cls(model.topology_text)
        net.load_model_file(model)
        net.eval()
        return net

    def tensors(self):
        """The module's weights as model file tensors, in canonical order."""
        modules = dict(self.named_modules())
        out = OrderedDict()
        for name, value in self.state_dict().items():
            owner = modules[name.rsplit(".", 1)[0]]
            v = value.detach().cpu().to(torch.float32).numpy()
            if getattr(owner, "binary", False) and name.endswith(".weight"):
                rows = v.reshape(v.shape[0], -1)
                packed = np.packbits(rows >= 0, axis=1, bitorder="little")
                out[name] = ("U8", list(packed.shape), packed.tobytes())
            else:
                out[name] = ("F32", list(v.shape), np.ascontiguousarray(v).tobytes())
        return out

    def to_model_file(self, topology_text):
        """A ModelFile of this module's weights under @topology_text (the
        topology the file stores, thresholds and classes included)."""
        return ModelFile(topology_text, self.tensors())
