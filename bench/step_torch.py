#!/usr/bin/python3
"""One supervised training step of SmallConvNet + Linear(128, 10) in PyTorch, against simile's in one run.

Run with Debian's interpreter (it has python3-torch):

    /usr/bin/python3 bench/step_torch.py --threads 2 --bench build/enc/bench/simile_bench_step

The step is the one of examples/supervised_fashion_mnist.cpp and bench/step_bench.cpp: a float32 batch
[256, 1, 28, 28] and 256 labels; forward through conv1 3x3 1->32 (no bias), BatchNorm2d, ReLU, max pool 2,
conv2 3x3 32->64, BatchNorm2d, ReLU, max pool 2, conv3 3x3 64->128, BatchNorm2d, ReLU, global average pool,
Linear(128, 10); cross-entropy; backward; Adam step (lr 1e-3), gradients set to None before each step.
PyTorch runs it in NCHW and in channels_last (model and input converted with
`.to(memory_format=torch.channels_last)`). torch.set_num_threads(threads). Each variant is timed after a
warm-up over repeated steps (median). The simile binary is then run at the same thread count (Google
Benchmark, repeated, median) and the ratios printed. Both sides run in the same script run on the same machine
state: on a loaded machine compare the ratios, not the absolute times.
"""
import argparse
import json
import statistics
import subprocess
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class SmallConvNet(nn.Module):
    """The architecture of include/simile/encoders/small_convnet.hpp, with the same parameter names."""

    def __init__(self, in_channels=1, readout_grid=1):
        super().__init__()
        self.readout_grid = readout_grid  # h: conv3's map averaged over G x G cells (simile's --readout-grid)
        self.conv1 = nn.Conv2d(in_channels, 32, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.conv3 = nn.Conv2d(64, 128, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(128)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = F.relu(self.bn3(self.conv3(x)))
        if self.readout_grid == 1:
            return x.mean(dim=(2, 3))
        return F.adaptive_avg_pool2d(x, self.readout_grid).flatten(1)


class BasicBlock(nn.Module):
    """torchvision's ResNet BasicBlock (include/simile/encoders/resnet.hpp has the same names)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet18(nn.Module):
    """torchvision's resnet18 without fc, with the small-image stem (3x3 stride-1 conv1, no max pool): what
    `simile train --encoder resnet18` trains; h of 512."""

    def __init__(self, in_channels=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        layers, cin = [], 64
        for i, cout in enumerate((64, 128, 256, 512)):
            stride = 1 if i == 0 else 2
            layers.append(nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)))
            cin = cout
        self.layer1, self.layer2, self.layer3, self.layer4 = layers

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return x.mean(dim=(2, 3))


def nt_xent(z, temperature):
    """NT-Xent in its usual PyTorch form: F.normalize of the [2N, D] projections, their 2N x 2N similarities
    over the temperature, the self-similarity masked, cross-entropy against each view's partner (shared by
    simclr_torch.py and simclr_reference.py)."""
    z = F.normalize(z, dim=1)
    n = z.shape[0] // 2
    sim = z @ z.t() / temperature
    sim.fill_diagonal_(float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(sim, target)


def time_torch(batch, channels_last, warmup, repeats):
    """Median wall and process-CPU seconds of one training step, and the last loss."""
    torch.manual_seed(0)
    encoder = SmallConvNet(1)
    classifier = nn.Linear(128, 10)
    g = torch.Generator().manual_seed(42)
    x = torch.rand(batch, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (batch,), generator=g)
    if channels_last:
        encoder = encoder.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    params = list(encoder.parameters()) + list(classifier.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    encoder.train()
    wall, cpu = [], []
    for i in range(warmup + repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(classifier(encoder(x)), y)
        loss.backward()
        opt.step()
        t1, c1 = time.perf_counter(), time.process_time()
        if i >= warmup:
            wall.append(t1 - t0)
            cpu.append(c1 - c0)
    return statistics.median(wall), statistics.median(cpu), loss.item()


def time_simile(binary, batch, threads, repeats):
    """Median wall and process-CPU seconds of simile's step, and its loss."""
    name = f"BM_TrainStep/batch:{batch}/threads:{threads}/process_time/real_time"
    out = subprocess.run(
        [binary, f"--benchmark_filter=^{name}$", f"--benchmark_repetitions={repeats}",
         "--benchmark_format=json", "--benchmark_min_time=1"],
        check=True, capture_output=True, text=True).stdout
    runs = [b for b in json.loads(out)["benchmarks"] if b.get("run_type") == "iteration"]
    if not runs:
        raise SystemExit(f"step_torch.py: {binary} ran no benchmark named {name}")
    unit = {"ms": 1e-3, "s": 1.0, "us": 1e-6, "ns": 1e-9}[runs[0]["time_unit"]]
    return (statistics.median(r["real_time"] * unit for r in runs),
            statistics.median(r["cpu_time"] * unit for r in runs), runs[0]["loss"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", help="path of simile_bench_step (omit to time PyTorch only)")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    print(f"torch {torch.__version__}, batch {args.batch}; times are medians in ms per step, "
          "wall / process CPU (all threads); samples/s from the wall time")
    for threads in args.threads:
        torch.set_num_threads(threads)
        results = {}
        for label, cl in (("torch NCHW", False), ("torch channels_last", True)):
            w, c, loss = time_torch(args.batch, cl, args.warmup, args.repeats)
            results[label] = w
            print(f"threads={threads} {label:<20} {w * 1e3:8.1f} / {c * 1e3:8.1f}   "
                  f"{args.batch / w:8.0f} samples/s   loss {loss:.4f}", flush=True)
        if args.bench:
            w, c, loss = time_simile(args.bench, args.batch, threads, max(3, args.repeats // 3))
            ratios = "   ".join(f"{k.split()[1]}/simile {v / w:4.2f}" for k, v in results.items())
            print(f"threads={threads} {'simile':<20} {w * 1e3:8.1f} / {c * 1e3:8.1f}   "
                  f"{args.batch / w:8.0f} samples/s   loss {loss:.4f}   {ratios}", flush=True)


if __name__ == "__main__":
    main()
