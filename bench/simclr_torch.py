#!/usr/bin/python3
"""One SimCLR training step in PyTorch against `simile train` in the same run: the speed ratio of the main job.

Run with Debian's interpreter (it has python3-torch):

    /usr/bin/python3 bench/simclr_torch.py --threads 2 --simile build/release/bin/simile

The PyTorch step is the straightforward SimCLR of the issue's reference: a batch of 256 images as two views
([512, 1, 28, 28]) through SmallConvNet (see bench/step_torch.py), a 128-128-64 projector (Linear, BatchNorm1d,
ReLU, Linear), NT-Xent at temperature 0.5 in its usual formulation (F.normalize of the [2N, D] matrix, its
2N x 2N similarity, the self-similarity masked, cross-entropy against the partner), backward and an Adam step.
It is timed on ready-made random views, in NCHW and in channels_last, after a warm-up (median of the steps).
`--encoder resnet18` runs ResNet-18 with the small-image stem instead (bench/step_torch.py's `ResNet18`,
11,168,832 parameters with three input channels as simile's test counts; here one channel), with a
512-128-64 projector, on both sides (a step takes seconds: use `--repeats 4 --simile-steps 2 6`).
PyTorch runs with jemalloc preloaded when Debian's libjemalloc2 is installed (the script re-executes itself):
with glibc's malloc every buffer over 32 MiB goes back to the system and faults in again next step, which
makes PyTorch's step 4-5x slower here; jemalloc is told to keep freed pages (MALLOC_CONF
dirty_decay_ms:-1,muzzy_decay_ms:-1; its default decay made the step even slower than glibc's);
`--allocator glibc` measures the default configuration instead.
simile is timed by `simile train --method simclr --max-steps S --no-eval` on the real data, augmentation
included, at the same thread count and batch, in the same script run: two runs of S1 and S2 steps, and the
steady rate is (S2 - S1) * batch / (seconds2 - seconds1), so start-up and warm-up cancel out. On a shared
machine compare the ratios. SmallConvNet is read by a global average on both sides (`--readout-grid 1`, the
network above; the tool's default 3x3 readout adds a 1,152-wide h). `--precision f32 bf16` (the default) times
simile in float and with `--precision bf16` (bfloat16 convolutions; where the CPU lacks AVX512_BF16 simile
warns and runs float, and the figure says so: `simile_bf16_ran`); PyTorch is timed in float32, the
issue's baseline. `--rounds R` repeats the whole comparison R times in turn and prints each round and the
median of every figure (a ratio's median over the rounds' own ratios): on a machine whose speed swings by a
quarter from one minute to the next, one round's ratio can be off by 0.3.
"""
import argparse
import json
import statistics
import subprocess
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

import torch_env
from step_torch import ResNet18, SmallConvNet, nt_xent

ENCODERS = {"smallconv": (SmallConvNet, 128), "resnet18": (ResNet18, 512)}  # the class and the width of h


def time_torch(batch, channels_last, warmup, repeats, encoder_name="smallconv"):
    torch.manual_seed(0)
    make, dim = ENCODERS[encoder_name]
    encoder = make(1)
    projector = nn.Sequential(nn.Linear(dim, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Linear(128, 64))
    x = torch.rand(2 * batch, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    if channels_last:
        encoder = encoder.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.Adam(list(encoder.parameters()) + list(projector.parameters()), lr=1e-3)
    times = []
    for i in range(warmup + repeats):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = nt_xent(projector(encoder(x)), 0.5)
        loss.backward()
        opt.step()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--simile", default="build/release/bin/simile")
    ap.add_argument("--simile-steps", type=int, nargs=2, default=[20, 120], metavar=("S1", "S2"))
    ap.add_argument("--allocator", choices=["jemalloc", "glibc"], default="jemalloc")
    ap.add_argument("--precision", nargs="+", choices=["f32", "bf16"], default=["f32", "bf16"],
                    help="simile's precisions to time (PyTorch runs float32)")
    ap.add_argument("--encoder", choices=sorted(ENCODERS), default="smallconv",
                    help="SmallConvNet, or ResNet-18 with the small-image stem (h of 512; the projector 512-128-64)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="time every side this many times in turn and report each round and the medians")
    a = ap.parse_args()
    if a.rounds < 1:
        ap.error(f"--rounds must be at least 1, got {a.rounds}")
    torch_env.arrange("simclr_torch.py", a.allocator, blas="system")  # its GEMMs are oneDNN's convolutions
    torch.set_num_threads(a.threads)
    result = {"encoder": a.encoder, "threads": a.threads, "batch": a.batch, "torch": torch.__version__,
              "torch_allocator": torch_env.allocator()}
    rounds = [one_round(a) for _ in range(a.rounds)]
    if a.rounds == 1:
        result.update(rounds[0])
    else:
        # Each figure's median over the rounds; a ratio's median is over the rounds' ratios (each from one
        # round, minutes apart at most), not the ratio of the medians.
        for key, value in rounds[0].items():
            result[key] = (round(statistics.median(r[key] for r in rounds), 2) if isinstance(value, (int, float))
                           else value)
        result["rounds"] = rounds
    print(json.dumps(result))


def one_round(a):
    """PyTorch in NCHW and channels-last, then simile at each --precision: times and ratios."""
    result = {}
    for name, cl in (("torch_nchw", False), ("torch_channels_last", True)):
        t = time_torch(a.batch, cl, 3, a.repeats, a.encoder)
        result[name + "_ms"] = round(t * 1e3, 1)
        result[name + "_samples_per_second"] = round(a.batch / t, 1)
    env = torch_env.child_env()  # simile brings its own allocator
    readout = ["--readout-grid", "1"] if a.encoder == "smallconv" else []
    for precision in a.precision:
        runs = []
        for steps in a.simile_steps:
            out = subprocess.run([a.simile, "train", "--method", "simclr", "--encoder", a.encoder, *readout,
                                  "--max-steps", str(steps), "--no-eval", "--precision", precision,
                                  "--threads", str(a.threads), "--batch", str(a.batch), "--log-every", "1000"],
                                 capture_output=True, text=True, check=True, env=env)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        rate = (runs[1]["steps"] - runs[0]["steps"]) * a.batch / (runs[1]["seconds"] - runs[0]["seconds"])
        key = "simile" if precision == "f32" else "simile_" + precision
        if precision != "f32":
            result[key + "_ran"] = runs[1].get("precision", "f32")
        result[key + "_ms"] = round(a.batch / rate * 1e3, 1)
        result[key + "_samples_per_second"] = round(rate, 1)
        result[key + "_vs_torch_nchw"] = round(rate / result["torch_nchw_samples_per_second"], 2)
        result[key + "_vs_torch_channels_last"] = round(rate / result["torch_channels_last_samples_per_second"], 2)
    return result


if __name__ == "__main__":
    main()
