#!/usr/bin/env python3
"""Scaling model of simile's data-parallel step (docs/DISTRIBUTED.md).

Takes what one rank computes and moves per step, measured here (per-rank step time, parameter count,
embedding size, batch-norm layers; `simile train --profile` and the JSON line's
communication_bytes_per_step), and extrapolates the time a step spends communicating on N nodes
linked at a given bandwidth with a given per-message latency. Prints a markdown table.

Model (no overlap of communication with compute, as the trainer runs today):
  gradients   all_reduce_sum = all-to-all + all-gather of 4P bytes:
              2 (N - 1) / N * 4P / bandwidth + 2 (N - 1) latency       (pairwise rounds, as Open MPI's
              linear all-to-all and ring all-gather)
  embeddings  NT-Xent gathers 2b rows of D floats, their 2b logsumexps and 2b losses, and checks shapes:
              (N - 1) 2b (D + 2) 4 / bandwidth + 4 (N - 1) latency
  batch norm  per layer, 2 all-reduces forward and 1 backward of a few hundred doubles, each gathered
              whole (small all-reduce, log2 N rounds): 3 L ceil(log2 N) latency + 3 L (N - 1) 8 (2C + 1) / bandwidth
  control     the clock, the stop flags and the loss: 3 small all-reduces, 3 ceil(log2 N) latency
Efficiency = compute / (compute + communication).

  python3 bench/scaling_model.py --compute-ms 95 --params 119584 --batch-per-rank 128 --dim 64 --bn-layers 4
      --bn-channels 352
"""
import argparse
import math


def step_comm_seconds(n, bandwidth_bytes, latency, params, b, dim, bn_layers, bn_channels):
    if n == 1:
        return 0.0, 0.0
    rounds = math.ceil(math.log2(n))
    grad_bytes = 2 * (n - 1) / n * 4 * params
    emb_bytes = (n - 1) * 2 * b * (dim + 2) * 4
    bn_bytes = 3 * (n - 1) * 8 * (2 * bn_channels + 2 * bn_layers)
    messages = 2 * (n - 1) + 4 * (n - 1) + 3 * bn_layers * rounds + 3 * rounds
    total = grad_bytes + emb_bytes + bn_bytes
    return total / bandwidth_bytes + messages * latency, total


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--compute-ms", type=float, required=True, help="per-rank step time without communication")
    p.add_argument("--params", type=int, required=True, help="trained parameters (gradient floats)")
    p.add_argument("--batch-per-rank", type=int, default=128, help="samples per rank (2 views each)")
    p.add_argument("--dim", type=int, default=64, help="projection size D (NT-Xent's gathered rows)")
    p.add_argument("--bn-layers", type=int, default=4, help="synchronized batch-norm layers")
    p.add_argument("--bn-channels", type=int, default=352, help="their channels in all (SmallConvNet + projector)")
    p.add_argument("--nodes", type=int, nargs="+", default=[8, 16, 64])
    p.add_argument("--gbits", type=float, nargs="+", default=[10, 25, 100])
    p.add_argument("--latency-us", type=float, nargs="+", default=[25, 10, 2],
                   help="per-message latency for each bandwidth (assumed: TCP on 10/25 GbE, RDMA at 100)")
    a = p.parse_args()
    compute = a.compute_ms / 1000
    print(f"compute {a.compute_ms} ms a step, {a.params} parameters, {a.batch_per_rank} samples a rank, "
          f"D {a.dim}, {a.bn_layers} batch-norm layers\n")
    print("| nodes | link | bytes a rank a step | communication ms | efficiency |")
    print("| --- | --- | --- | --- | --- |")
    for n in a.nodes:
        for gb, lat in zip(a.gbits, a.latency_us):
            t, bytes_ = step_comm_seconds(n, gb * 1e9 / 8, lat * 1e-6, a.params, a.batch_per_rank, a.dim, a.bn_layers,
                                         a.bn_channels)
            print(f"| {n} | {gb:g} Gbit/s, {lat:g} us | {bytes_ / 1e6:.2f} MB | {t * 1000:.1f} | "
                  f"{compute / (compute + t):.0%} |")


if __name__ == "__main__":
    main()
