"""python3 -m ddnn_torch train --arch ARCH.json --data DIR --out MODEL

Trains a ddnn architecture in PyTorch on a data set folder made by `ddnn
dataset` and writes a model file the engine and the elements load.  On
several GPUs or CPU processes, start it with torchrun:

  torchrun --nproc_per_node 2 -m ddnn_torch train --arch A --data D --out M

SPDX-License-Identifier: LGPL-2.1-or-later"""
import argparse
import json
import os
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python3 -m ddnn_torch",
        description="ddnn networks in PyTorch: train an architecture and write a ddnn "
                    "model file, as `ddnn train` does.")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train an architecture on a data set",
                       description="Train ARCH.json on DIR/train.safetensors with ddnn "
                                   "train's loss, hold the last samples out to choose the "
                                   "exit thresholds, and write MODEL.")
    t.add_argument("--arch", required=True, help="the architecture (JSON), as ddnn train takes")
    t.add_argument("--data", required=True, help="a data set folder (ddnn dataset fmv/import)")
    t.add_argument("--out", required=True, help="the model file to write")
    t.add_argument("--epochs", type=int, help="epochs (default: the arch's training.epochs)")
    t.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    t.add_argument("--validate", type=int,
                   help="hold the last N samples out to choose the thresholds on "
                        "(default: a tenth, at most 5000)")
    t.add_argument("--exit-target", type=float,
                   help="the share of held-out samples that exit locally "
                        "(default: training.exit_target)")
    t.add_argument("--edge-target", type=float,
                   help="the share of held-out samples that exit at the edge "
                        "(default: training.edge_target)")
    t.add_argument("--seed", type=int, default=1, help="seed (default 1)")
    t.add_argument("--steps", type=int, help="stop after this many batches (a quick check)")
    t.add_argument("--from", dest="start", metavar="MODEL",
                   help="start from this model file's weights (fine-tuning); its "
                        "topology must be the arch's")
    t.add_argument("--threads", type=int, help="CPU threads for PyTorch")
    t.add_argument("--losses", help="write the loss of every step to this file (JSON)")
    args = parser.parse_args(argv)

    import torch
    import torch.distributed as dist
    from .train import train

    if "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1:
        backend = "nccl" if args.device.startswith("cuda") else "gloo"
        dist.init_process_group(backend)
        if args.device.startswith("cuda"):
            args.device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        _, losses = train(open(args.arch).read(), args.data, args.out, epochs=args.epochs,
                          device=args.device, validate=args.validate, seed=args.seed,
                          exit_target=args.exit_target, edge_target=args.edge_target,
                          steps=args.steps, start=args.start)
        if args.losses and (not dist.is_initialized() or dist.get_rank() == 0):
            with open(args.losses, "w") as f:
                json.dump(losses, f)
    except (OSError, ValueError, KeyError) as e:
        print(f"ddnn_torch: {e}", file=sys.stderr)
        return 1
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
