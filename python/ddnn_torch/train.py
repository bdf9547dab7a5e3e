"""Training a ddnn network in PyTorch, with `ddnn train`'s loss and rules.

- The loss sums every exit: each camera's exit on the labels it sees (its
  absent views and dropped views left out, averaged over the samples it
  takes part in), the fused local exit, the edge exit if any, and the
  cloud exit (each averaged over the batch), weighted by the topology's
  training.exit_weights.
- View drop: each camera of each sample is dropped with probability
  training.view_drop (at least one stays); a dropped camera's features are
  zeros for the next tier and its scores are left out of the local fusion.
- Binary layers use the sign of float weights, with straight-through
  gradients, and the weights are clipped to [-1, 1] after each Adam step;
  sign activations pass the gradient where |x| <= 1.
- The last min(5000, n / 10) training samples are held out (--validate),
  and the thresholds are chosen on them as libddnn does: the local one so
  that training.exit_target of them exit locally, the edge one so that
  training.edge_target of all of them exit at the edge.
- The model file gets the long-form topology libddnn would store (the
  device template expanded), the thresholds rounded to three decimals,
  the class names of the data set, and the tensor names, digests and
  model id of `ddnn train`'s files.

Several processes (started by torchrun; torch.distributed with gloo on
CPUs, nccl on GPUs) split each batch: every process draws the same order
and the same view drops and takes its share of the batch; each loss term
is its share's sum over the global batch's count, the gradients are
summed over the processes (all_reduce, as DistributedDataParallel does),
and batch norm's statistics are taken over the whole batch, so that the
result is the one-process result for the same global batch and seed, up to
floating-point summation order.

SPDX-License-Identifier: LGPL-2.1-or-later"""
import json
import math
import os
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from . import network
from .modelfile import read_safetensors
from .network import expand_template
from .topology import dumps, parse, set_threshold, threshold_for

ABSENT = 255


def load_split(path):
    """images [N, V, H, W, C] uint8, labels [N], view labels [N, V], class
    names."""
    tensors, meta = read_safetensors(open(path, "rb").read())

    def get(name):
        dtype, shape, raw = tensors[name]
        return np.frombuffer(raw, np.uint8).reshape(shape)
    classes = json.loads(meta.get("classes", "[]"))
    return get("images"), get("labels"), get("view_labels"), classes




def training_forward(net, x, dropped):
    """Scores of every exit in training mode, with cameras dropped."""
    feats, device_scores = [], []
    for v, name in enumerate(net.device_names):
        sec = net.sections[name]
        f = sec.features(x[:, v])
        device_scores.append(sec.scores(f))
        keep = (~dropped[:, v]).to(f.dtype).view(-1, *([1] * (f.dim() - 1)))
        feats.append(f * keep)
    scores = torch.stack(device_scores)                     # [V, N, C]
    kept = (~dropped).t().unsqueeze(-1)                     # [V, N, 1]
    if net.local_fusion == "max":
        local = scores.masked_fill(~kept, float("-inf")).max(0).values
    else:
        local = (scores * kept).sum(0) / kept.sum(0).clamp(min=1)
    if net.feature_fusion == "concat":
        fused = torch.cat(feats, 1)
    else:
        stack = torch.stack(feats)
        k = kept.view(kept.shape[0], kept.shape[1], *([1] * (stack.dim() - 2)))
        fused = (stack.masked_fill(~k, float("-inf")).max(0).values
                 if net.feature_fusion == "max" else (stack * k).sum(0) / k.sum(0).clamp(min=1))
    edge = None
    upper = fused
    if net.edge_name:
        sec = net.sections[net.edge_name]
        upper = sec.features(fused)
        edge = sec.scores(upper)
    sec = net.sections[net.cloud_name]
    return device_scores, local, edge, sec.scores(sec.features(upper))


def options(topology):
    t = topology.get("training", {})
    w = t.get("exit_weights", {})
    return {"epochs": int(t.get("epochs", 10)), "batch": int(t.get("batch", 64)),
            "lr": float(t.get("lr", 1e-3)), "view_drop": float(t.get("view_drop", 0.0)),
            "exit_target": float(t.get("exit_target", 0.0)),
            "edge_target": float(t.get("edge_target", 0.0)),
            "device": float(w.get("device", 1)), "local": float(w.get("local", 1)),
            "edge": float(w.get("edge", 1)), "cloud": float(w.get("cloud", 1))}


def train(arch_text, data_dir, out, epochs=None, device="cpu", validate=None, seed=1,
          exit_target=None, edge_target=None, steps=None, start=None, log=print):
    """Trains the architecture @arch_text (JSON) on @data_dir's training
    split and writes the model file @out; returns the model's topology and
    the loss of every step.  @steps stops after that many batches; @start
    (a model file's path) gives the weights to start from."""
    rank, world = 0, 1
    if dist.is_available() and dist.is_initialized():
        rank, world = dist.get_rank(), dist.get_world_size()
    arch = parse(arch_text)
    topo = expand_template(arch)
    images, labels, view_labels, classes = load_split(os.path.join(data_dir,
                                                                   "train.safetensors"))
    if classes and list(topo["classes"]) != classes:
        raise ValueError(f"the data set's classes {classes} are not the model's "
                         f"{list(topo['classes'])}")
    o = options(topo)
    if epochs is not None:
        o["epochs"] = epochs
    n_all = len(labels)
    hold = min(5000, n_all // 10) if validate is None else validate
    if hold >= n_all // 2:
        raise ValueError("--validate must leave at least half the data to train on")
    n = n_all - hold
    torch.manual_seed(seed)
    net = network.DdnnNetwork(topo)
    if start:
        from .modelfile import ModelFile
        model = ModelFile.load(start)
        if expand_template(parse(model.topology_text)).get("sections") != topo["sections"]:
            raise ValueError(f"{start} is not a model of this architecture")
        net.load_model_file(model)
    net = net.to(device)
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=o["lr"], betas=(0.9, 0.999), eps=1e-8)
    binary = [m.weight for m in net.modules()
              if isinstance(m, (network.Conv, network.Linear)) and m.binary]
    V, B = net.views, o["batch"]
    if B % world:
        raise ValueError(f"the batch of {B} does not split over {world} processes")
    share = B // world
    gen = torch.Generator().manual_seed(seed)
    if rank == 0:
        log(f"training {topo.get('name', 'model')} on {n} samples ({hold} held out): "
            f"{o['epochs']} epochs, batch {B}, lr {o['lr']}, view drop {o['view_drop']}, "
            f"seed {seed}, {world} process{'es' if world > 1 else ''} on {device}")
    losses = []
    for epoch in range(o["epochs"]):
        if steps is not None and len(losses) >= steps:
            break
        order = torch.randperm(n, generator=gen)
        t0, loss_sum, done = time.perf_counter(), 0.0, 0
        for start in range(0, n, B):
            if steps is not None and len(losses) >= steps:
                break
            idx = order[start:start + B]
            m = len(idx)
            drop = torch.rand(m, V, generator=gen) < o["view_drop"]
            keep_one = torch.randint(0, V, (m,), generator=gen)
            all_dropped = drop.all(1)
            drop[all_dropped, keep_one[all_dropped]] = False
            # this process's share of the global batch
            lo, hi = min(rank * share, m), min((rank + 1) * share, m)
            mine = idx[lo:hi].numpy()
            x = net.prepare(images[mine]).to(device)
            y = torch.from_numpy(labels[mine].astype(np.int64)).to(device)
            vy = torch.from_numpy(view_labels[mine].astype(np.int64)).to(device)
            dropped = drop[lo:hi].to(device)
            dev, local, edge, cloud = training_forward(net, x, dropped)
            # every term a sum over this share, over the global count
            counts = [float(((view_labels[idx.numpy(), v] != ABSENT) &
                             ~drop[:, v].numpy()).sum()) for v in range(V)]
            loss = 0.0
            for v in range(V):
                mask = (vy[:, v] != ABSENT) & ~dropped[:, v]
                if counts[v] > 0 and mask.any():
                    loss = loss + o["device"] * F.cross_entropy(
                        dev[v][mask], vy[mask, v], reduction="sum") / counts[v]
            loss = loss + o["local"] * F.cross_entropy(local, y, reduction="sum") / m
            if edge is not None:
                loss = loss + o["edge"] * F.cross_entropy(edge, y, reduction="sum") / m
            loss = loss + o["cloud"] * F.cross_entropy(cloud, y, reduction="sum") / m
            opt.zero_grad()
            loss.backward()
            if world > 1:
                for p in net.parameters():
                    if p.grad is not None:
                        dist.all_reduce(p.grad)
                with torch.no_grad():
                    total = torch.tensor([float(loss)])
                    dist.all_reduce(total)
                losses.append(float(total))
            else:
                losses.append(float(loss))
            loss_sum += losses[-1]
            opt.step()
            with torch.no_grad():
                for w in binary:
                    w.clamp_(-1, 1)
            done += 1
        dt = time.perf_counter() - t0
        if rank == 0:
            log(f"epoch {epoch + 1}/{o['epochs']}  loss {loss_sum / max(done, 1):.4f}  "
                f"{min(n, done * B) / dt:.0f} samples/s  {dt:.1f} s")

    # the thresholds, on the held-out samples, as libddnn chooses them
    net.eval()
    text = dumps(topo)
    target = o["exit_target"] if exit_target is None else exit_target
    edge_share = o["edge_target"] if edge_target is None else edge_target
    if hold and target > 0:
        with torch.no_grad():
            outs = [net(net.prepare(images[k:min(k + 256, n_all)]).to(device))
                    for k in range(n, n_all, 256)]
        local_e = torch.cat([r["local_entropy"] for r in outs]).cpu().numpy()
        t_local = threshold_for(local_e, math.ceil(target * hold))
        text = set_threshold(text, "local", t_local)
        if edge_share > 0 and net.edge_name:
            edge_e = torch.cat([r["edge_entropy"] for r in outs]).cpu().numpy()
            t_local_set = parse(text)["thresholds"]["local"]
            up = [e for le, e in zip(local_e, edge_e) if not np.float32(le) < t_local_set]
            t_edge = threshold_for(up, math.ceil(edge_share * hold)) if up else 0.0
            text = set_threshold(text, "edge", t_edge)
    if rank == 0:
        net.to("cpu").to_model_file(text).save(out)
        log(f"wrote {out}")
    return text, losses
