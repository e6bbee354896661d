#!/usr/bin/python3
"""The reference SimCLR recipe of issue 13 in PyTorch, trained for a number of steps and evaluated by simile.

Run with Debian's interpreter (it has python3-torch):

    /usr/bin/python3 bench/simclr_reference.py --steps 1200 --seed 0 --simile build/release/bin/simile

The recipe: Fashion-MNIST scaled to [0, 1]; two views of each image, each a random resized crop (area fraction
U(0.3, 1), aspect ratio log-uniform in [3/4, 4/3], torchvision's 10 tries then the centre, resampled bilinearly
to 28x28 without antialiasing, samples clamped to the crop as torchvision's resize of the cropped tensor does),
a horizontal flip with probability 0.5, and with probability 0.8 brightness then contrast factors U(0.6, 1.4)
(contrast about the image's mean), each clamped to [0, 1]; then (x - 0.2860) / 0.3530 (`--no-normalize` leaves
the views in [0, 1], as `simile train` does: its evaluation feeds the encoder [0, 1] pixels). Both views go
through SmallConvNet (bench/step_torch.py, simile's architecture and parameter names) as one batch of 2N, then
Linear(128, 128)-BatchNorm1d-ReLU-Linear(128, 64), NT-Xent at 0.5; Adam at a constant 1e-3, no weight decay,
batch 256, the training set reshuffled every epoch (a generator seeded with --seed; the last partial batch
dropped, as simile's loader does). PyTorch's default initialization is simile's (uniform, 1/sqrt(fan_in)).

The same recipe in simile is `simile train --augment reference --schedule constant --weight-decay 0
--readout-grid 1`.

`--recipe simile` ports simile's default SimCLR recipe instead (what `simile train --method simclr` runs, issue
13's winner so far): the crop's area fraction U(0.2, 1), the same flip and jitter, then Gaussian noise with a
standard deviation drawn per image from U(0, 0.05), clamped to [0, 1], no normalization; h read from conv3's map
averaged over a 3x3 grid of overlapping cells (1,152 wide; `--readout-grid` as simile's) into Linear(1152,
128)-BatchNorm1d-ReLU-Linear(128, 64); Adam 2e-3 (simile's SimCLR default) with L2 weight decay 1e-6 (torch's
Adam, as simile's `adam`) and a cosine from 2e-3 to 0 over the run. With
`--budget-seconds S` the run stops at the first step that crosses S seconds of training, and the cosine runs over
time (progress = elapsed / S): simile estimates its horizon in steps from its pace instead; both reach 0 at the
budget. Start-up (reading the data) is outside the budget on both sides.

After training, the encoder's representations h of the training and test sets (eval mode: batch norm's running
statistics) are written to `<out>/train.npy` and `<out>/test.npy`, and `simile eval --features` evaluates them
with exactly the protocol of a simile checkpoint (linear probe, kNN k 200 T 0.1, the 1 % and 10 % probes). The
last line printed is one JSON object: the run (steps, seconds, final loss, torch's version and threads) and
simile's evaluation of it.
"""
import argparse
import gzip
import json
import math
import os
import struct
import subprocess
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import torch_env
from step_torch import SmallConvNet, nt_xent

MEAN, STD = 0.2860, 0.3530


def read_idx(path):
    """A gzip or plain IDX file as a numpy uint8 array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, rank = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * rank).reshape(dims)


def load(folder, split):
    prefix = "train" if split == "train" else "t10k"
    def find(stem):
        for name in (stem, stem + ".gz"):
            if os.path.exists(os.path.join(folder, name)):
                return os.path.join(folder, name)
        raise FileNotFoundError(f"{folder}: no {stem}[.gz]")
    images = read_idx(find(f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(find(f"{prefix}-labels-idx1-ubyte"))
    return torch.from_numpy(images.copy()).float().div_(255).unsqueeze(1), torch.from_numpy(labels.astype(np.int64))


def crop_box(g, size=28, scale=(0.3, 1.0), ratio=(3 / 4, 4 / 3)):
    """torchvision's RandomResizedCrop.get_params for a size x size image: (top, left, height, width)."""
    area = size * size
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target = area * torch.empty(1).uniform_(scale[0], scale[1], generator=g).item()
        aspect = math.exp(torch.empty(1).uniform_(log_ratio[0], log_ratio[1], generator=g).item())
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= size and 0 < h <= size:
            i = torch.randint(0, size - h + 1, (1,), generator=g).item()
            j = torch.randint(0, size - w + 1, (1,), generator=g).item()
            return i, j, h, w
    return 0, 0, size, size  # the centre crop of a square image with the ratio clamped: the whole image


def views(x, g, normalize, scale=(0.3, 1.0), noise=0.0):
    """One augmented view of each image of x [B, 1, 28, 28] in [0, 1]: crop (area fraction in `scale`), flip,
    jitter, then noise of a deviation drawn from U(0, noise) per image when noise > 0, then the normalization."""
    b = x.shape[0]
    out = torch.empty_like(x)
    for k in range(b):
        i, j, h, w = crop_box(g, scale=scale)
        out[k] = F.interpolate(x[k:k + 1, :, i:i + h, j:j + w], size=(28, 28), mode="bilinear", align_corners=False)[0]
    flip = torch.rand(b, generator=g) < 0.5
    out[flip] = out[flip].flip(-1)
    jitter = torch.rand(b, generator=g) < 0.8
    bright = torch.empty(b).uniform_(0.6, 1.4, generator=g)
    contrast = torch.empty(b).uniform_(0.6, 1.4, generator=g)
    y = out[jitter]
    y = (y * bright[jitter].view(-1, 1, 1, 1)).clamp_(0, 1)
    c = contrast[jitter].view(-1, 1, 1, 1)
    y = (c * y + (1 - c) * y.mean(dim=(1, 2, 3), keepdim=True)).clamp_(0, 1)
    out[jitter] = y
    if noise > 0:
        sigma = torch.empty(b).uniform_(0, noise, generator=g).view(-1, 1, 1, 1)
        out = (out + sigma * torch.randn(out.shape, generator=g)).clamp_(0, 1)
    return (out - MEAN) / STD if normalize else out


@torch.no_grad()
def represent(encoder, x, normalize, batch=1000):
    encoder.eval()
    parts = []
    for s in range(0, x.shape[0], batch):
        v = x[s:s + batch]
        parts.append(encoder((v - MEAN) / STD if normalize else v))
    return torch.cat(parts).numpy().astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recipe", choices=["reference", "simile"], default="reference")
    ap.add_argument("--steps", type=int, default=1200, help="steps to train (with --budget-seconds: an upper bound)")
    ap.add_argument("--budget-seconds", type=float, default=0, help="stop at the first step past this (0: none)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--no-normalize", dest="normalize", action="store_false")
    ap.add_argument("--readout-grid", type=int, default=0,
                    help="h from conv3's map averaged over G x G cells (0: the recipe's, 1 reference, 3 simile)")
    ap.add_argument("--out", default="build/simclr_reference")
    ap.add_argument("--simile", default="build/release/bin/simile")
    ap.add_argument("--log-every", type=int, default=100)
    a = ap.parse_args()
    torch_env.arrange("simclr_reference.py", blas="system")  # the convolutions are oneDNN's
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    g = torch.Generator().manual_seed(a.seed)

    x_train, _ = load(a.data, "train")
    ported = a.recipe == "simile"
    if ported:
        a.normalize = False
    grid = a.readout_grid or (3 if ported else 1)
    lr = 2e-3 if ported else 1e-3
    encoder = SmallConvNet(1, readout_grid=grid)
    dim = 128 * grid * grid
    projector = nn.Sequential(nn.Linear(dim, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Linear(128, 64))
    opt = torch.optim.Adam(list(encoder.parameters()) + list(projector.parameters()), lr=lr,
                           weight_decay=1e-6 if ported else 0)
    scale, noise = ((0.2, 1.0), 0.05) if ported else ((0.3, 1.0), 0.0)
    per_epoch = x_train.shape[0] // a.batch
    budget = a.budget_seconds
    step, losses, t0 = 0, [], time.perf_counter()
    done = False
    while not done:
        order = torch.randperm(x_train.shape[0], generator=g)
        for b in range(per_epoch):
            elapsed = time.perf_counter() - t0
            if step == a.steps or (budget > 0 and elapsed >= budget):
                done = True
                break
            if ported:  # cosine from lr to 0 over the run: over time with a budget, else over the steps
                progress = min(1.0, elapsed / budget) if budget > 0 else step / a.steps
                for group in opt.param_groups:
                    group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * progress))
            x = x_train[order[b * a.batch:(b + 1) * a.batch]]
            both = torch.cat([views(x, g, a.normalize, scale, noise), views(x, g, a.normalize, scale, noise)])
            encoder.train()
            projector.train()
            loss = nt_xent(projector(encoder(both)), 0.5)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            losses.append(loss.item())
            if step % a.log_every == 0:
                print(f"step {step} loss {sum(losses[-50:]) / len(losses[-50:]):.4f} "
                      f"{time.perf_counter() - t0:.0f}s", flush=True)
    seconds = time.perf_counter() - t0

    os.makedirs(a.out, exist_ok=True)
    x_test, _ = load(a.data, "test")
    files = [os.path.join(a.out, "train.npy"), os.path.join(a.out, "test.npy")]
    np.save(files[0], represent(encoder, x_train, a.normalize))
    np.save(files[1], represent(encoder, x_test, a.normalize))
    ev = subprocess.run([a.simile, "eval", "--data", a.data, "--threads", str(a.threads), "--seed", str(a.seed),
                         "--features", *files], env=torch_env.child_env(), capture_output=True, text=True)
    if ev.returncode != 0:
        raise SystemExit(f"simile eval failed ({ev.returncode}): {ev.stderr.strip()}")
    result = {"implementation": "pytorch", "recipe": a.recipe, "normalize": a.normalize, "readout_grid": grid,
              "lr": lr, "steps": step,
              "budget_seconds": budget, "samples_per_second": step * a.batch / seconds,
              "seed": a.seed, "seconds": seconds, "final_loss": sum(losses[-50:]) / len(losses[-50:]),
              "threads": a.threads, "torch": torch.__version__}
    result.update(json.loads(ev.stdout.strip().splitlines()[-1]))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
