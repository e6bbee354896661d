#!/usr/bin/python3
"""NT-Xent forward + backward in PyTorch, its usual formulation, against simile's fused loss in one run.

Run with Debian's interpreter (it has python3-torch):

    /usr/bin/python3 bench/losses_torch.py --bench build/losses/bench/simile_bench_losses

PyTorch side: F.normalize the [2N, D] matrix, its 2N x 2N similarity / tau, self-similarity masked with
-inf, F.cross_entropy with the partner labels, backward. torch.set_num_threads(threads). Each size is
timed after a warm-up over repeated runs (median). The simile binary is then run on the same sizes
(Google Benchmark, repeated, median) and the ratio printed. Both sides run in the same script run, one
after the other, on the same machine state: compare the ratios, not the absolute times, on a loaded machine.

PyTorch runs at its best on Debian (bench/torch_env.py): OpenBLAS's OpenMP build for its GEMMs (Debian's
PyTorch otherwise calls the reference BLAS) and jemalloc, installed when missing (as root); the first line says
which BLAS and which OpenBLAS kernel it used. OpenBLAS picks the kernel for the CPU and may fall back to a
generic one: `--coretype auto` (the default) forces SkylakeX on CPUs with AVX-512, `--coretype NAME` any
kernel, `--coretype none` leaves it to OpenBLAS. `--blas system --allocator glibc` measures Debian's default.
"""
import argparse
import json
import statistics
import subprocess
import time

import torch
import torch.nn.functional as F

import torch_env


def nt_xent_torch(z, tau):
    n2 = z.shape[0]
    n = n2 // 2
    u = F.normalize(z, dim=1)
    sim = u @ u.t() / tau
    sim = sim.masked_fill(torch.eye(n2, dtype=torch.bool), float("-inf"))
    labels = torch.cat([torch.arange(n, n2), torch.arange(0, n)])
    return F.cross_entropy(sim, labels)


def softmax_part_torch(sim, tau):
    """What PyTorch does besides the two GEMMs of the similarity and its gradient: scaling, masking,
    cross-entropy and their backward, from the similarities of already normalized rows."""
    n2 = sim.shape[0]
    n = n2 // 2
    s = (sim / tau).masked_fill(torch.eye(n2, dtype=torch.bool), float("-inf"))
    labels = torch.cat([torch.arange(n, n2), torch.arange(0, n)])
    return F.cross_entropy(s, labels)


def time_torch(n, d, tau, warmup, repeats, softmax_only=False):
    """Median wall and process-CPU seconds of forward + backward, and the last loss."""
    g = torch.Generator().manual_seed(42)
    z = torch.randn(2 * n, d, generator=g, dtype=torch.float32)
    if softmax_only:
        u = F.normalize(z, dim=1)
        x = (u @ u.t()).requires_grad_()
        f = softmax_part_torch
    else:
        x = z.requires_grad_()
        f = nt_xent_torch
    wall, cpu = [], []
    for i in range(warmup + repeats):
        x.grad = None
        t0, c0 = time.perf_counter(), time.process_time()
        loss = f(x, tau)
        loss.backward()
        t1, c1 = time.perf_counter(), time.process_time()
        if i >= warmup:
            wall.append(t1 - t0)
            cpu.append(c1 - c0)
    return statistics.median(wall), statistics.median(cpu), loss.item()


def time_simile(binary, n, threads, tile, repeats, env):
    """Median wall and process-CPU seconds of simile's forward + backward, and its loss."""
    name = f"BM_NtXent/N:{n}/threads:{threads}/tile:{tile}/process_time/real_time"
    out = subprocess.run(
        [binary, f"--benchmark_filter=^{name}$", f"--benchmark_repetitions={repeats}",
         "--benchmark_format=json", "--benchmark_min_time=0.3"],
        check=True, capture_output=True, text=True, env=env).stdout
    runs = [b for b in json.loads(out)["benchmarks"] if b.get("run_type") == "iteration"]
    unit = {"ms": 1e-3, "s": 1.0, "us": 1e-6, "ns": 1e-9}[runs[0]["time_unit"]]
    return (statistics.median(r["real_time"] * unit for r in runs),
            statistics.median(r["cpu_time"] * unit for r in runs), runs[0]["loss"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", help="path of simile_bench_losses (omit to time PyTorch only)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 1024, 4096], help="N, views per side")
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tau", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--blas", choices=["openblas", "system"], default="openblas",
                    help="PyTorch's BLAS: OpenBLAS (OpenMP build) or the system's libblas.so.3")
    ap.add_argument("--allocator", choices=["jemalloc", "glibc"], default="jemalloc")
    ap.add_argument("--coretype", default="auto",
                    help="OpenBLAS kernel (OPENBLAS_CORETYPE), e.g. SkylakeX; auto: SkylakeX with AVX-512, else "
                         "OpenBLAS's choice; none: OpenBLAS's choice")
    args = ap.parse_args()
    torch_env.arrange("losses_torch.py", args.allocator, args.blas, None if args.coretype == "none" else args.coretype)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, BLAS {torch_env.loaded_blas()} "
          f"(OpenBLAS kernel {torch_env.openblas_core()}), allocator {torch_env.allocator()}, D {args.dim}, "
          f"tau {args.tau}; times are medians in ms, wall / process CPU (all threads)")
    print("torch-softmax = PyTorch without its GEMMs (scale, mask, cross-entropy, their backward): a floor for "
          "PyTorch with any BLAS")
    for n in args.sizes:
        reps = args.repeats if n <= 1024 else max(3, args.repeats // 3)
        tw, tc, tl = time_torch(n, args.dim, args.tau, args.warmup, reps)
        sw, sc, _ = time_torch(n, args.dim, args.tau, args.warmup, reps, softmax_only=True)
        print(f"N={n:<5} torch         {tw * 1e3:9.1f} / {tc * 1e3:9.1f}   loss {tl:.5f}")
        print(f"        torch-softmax {sw * 1e3:9.1f} / {sc * 1e3:9.1f}")
        if not args.bench:
            continue
        for tile in (0, 256):
            mw, mc, ml = time_simile(args.bench, n, args.threads, tile, max(3, reps // 2), torch_env.child_env())
            label = "simile plain " if tile == 0 else f"simile tile {tile}"
            print(f"        {label:<13} {mw * 1e3:9.1f} / {mc * 1e3:9.1f}   loss {ml:.5f}   "
                  f"torch/simile {tw / mw:5.2f} wall {tc / mc:5.2f} cpu   "
                  f"torch-softmax/simile {sw / mw:5.2f} wall {sc / mc:5.2f} cpu", flush=True)


if __name__ == "__main__":
    main()
