#!/usr/bin/python3
"""The engine benchmark's sections in PyTorch: batch 1, one thread, eval mode,
no autograd.  Binary layers run as float layers with +/-1 weights and
torch.sign, which is what PyTorch offers.  Method as in bench-engine.c:
warm-up, then the median of N individually timed runs.

usage: bench_torch.py [RUNS]"""
import sys
import time

import torch
from torch import nn

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
WARMUP = 200


class Sign(nn.Module):
    def forward(self, x):
        return torch.where(x >= 0, 1.0, -1.0)


def binarise(module):
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            with torch.no_grad():
                m.weight.copy_(torch.where(m.weight >= 0, 1.0, -1.0))
    return module


def device(binary, f=8):
    return nn.Sequential(
        nn.Conv2d(1, f, 3, padding=1, bias=False),
        nn.MaxPool2d(3, 2, 1),
        nn.BatchNorm2d(f),
        Sign() if binary else nn.ReLU(),
        nn.Flatten(),
        nn.Linear(f * 256, 10, bias=False),
        nn.BatchNorm1d(10),
    )


def cloud(views=6, f=4):
    return nn.Sequential(
        nn.Conv2d(views * f, 16, 3, padding=1, bias=False),
        nn.MaxPool2d(3, 1, 1),
        nn.BatchNorm2d(16),
        Sign(),
        nn.Conv2d(16, 16, 3, padding=1, bias=False),
        nn.MaxPool2d(3, 1, 1),
        nn.BatchNorm2d(16),
        Sign(),
        nn.Flatten(),
        nn.Linear(16 * 256, 10, bias=False),
        nn.BatchNorm1d(10),
    )


def median_us(model, x):
    model.eval()
    times = []
    with torch.inference_mode():
        for _ in range(WARMUP):
            model(x)
        for _ in range(RUNS):
            t0 = time.perf_counter_ns()
            model(x)
            times.append(time.perf_counter_ns() - t0)
    times.sort()
    return times[len(times) // 2] / 1000.0


def main():
    torch.set_num_threads(1)
    torch.manual_seed(1)
    image = torch.rand(1, 1, 32, 32)
    features = torch.where(torch.rand(1, 24, 16, 16) >= 0.5, 1.0, -1.0)
    rows = [
        ("device-float", median_us(device(False), image)),
        ("device-binary", median_us(binarise(device(True)), image)),
        ("cloud", median_us(binarise(cloud()), features)),
    ]
    print(f"# PyTorch {torch.__version__}, batch 1, 1 thread; median of {RUNS} runs")
    for key, us in rows:
        print(f"@{key} {us:.3f}")


if __name__ == "__main__":
    main()
