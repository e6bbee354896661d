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
  batch norm  per layer of C channels (C = channels / layers), s = (2C + 1) 8 bytes: forward, every
              rank's (n, mean, M2) gathered, (N - 1) s bytes in ceil(log2 N) rounds; backward, an all-reduce
              of s bytes, gathered whole when s <= 16 KiB ((N - 1) s bytes, log2 N rounds), else chunked
              (2 (N - 1) / N s bytes, 2 (N - 1) rounds)
  control     the clock, the stop flags and the loss: 3 small all-reduces, 3 ceil(log2 N) latency
  extra       what a method gathers besides (--gather-floats a sample: MoCo's shuffled batch norm gathers
              both views' images, 2 x 784 floats, and both keys, 2 x 64): (N - 1) b floats 4 / bandwidth
              + 2 (N - 1) latency
Efficiency = compute / (compute + communication).

  python3 bench/scaling_model.py --compute-ms 95 --params 117920 --batch-per-rank 128 --dim 64 --bn-layers 4
      --bn-channels 352
"""
import argparse
import math


def step_comm_seconds(n, bandwidth_bytes, latency, params, b, dim, bn_layers, bn_channels, gather_floats):
    if n == 1:
        return 0.0, 0.0
    rounds = math.ceil(math.log2(n))
    grad_bytes = 2 * (n - 1) / n * 4 * params
    emb_bytes = (n - 1) * 2 * b * (dim + 2) * 4
    s = (2 * bn_channels / bn_layers + 1) * 8 if bn_layers else 0
    small = s <= 16 * 1024
    bn_bytes = bn_layers * ((n - 1) * s + ((n - 1) * s if small else 2 * (n - 1) / n * s))
    bn_messages = bn_layers * (rounds + (rounds if small else 2 * (n - 1)))
    extra_bytes = (n - 1) * b * gather_floats * 4
    messages = 2 * (n - 1) + 4 * (n - 1) + bn_messages + 3 * rounds + (2 * (n - 1) if gather_floats else 0)
    total = grad_bytes + emb_bytes + bn_bytes + extra_bytes
    return total / bandwidth_bytes + messages * latency, total


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--compute-ms", type=float, required=True, help="per-rank step time without communication")
    p.add_argument("--params", type=int, required=True, help="trained parameters (gradient floats)")
    p.add_argument("--batch-per-rank", type=int, default=128, help="samples per rank (2 views each)")
    p.add_argument("--dim", type=int, default=64, help="projection size D (NT-Xent's gathered rows)")
    p.add_argument("--bn-layers", type=int, default=4, help="synchronized batch-norm layers")
    p.add_argument("--bn-channels", type=int, default=352, help="their channels in all (SmallConvNet + projector)")
    p.add_argument("--gather-floats", type=int, default=0, help="floats a sample gathered besides (MoCo: 1696)")
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
                                         a.bn_channels, a.gather_floats)
            print(f"| {n} | {gb:g} Gbit/s, {lat:g} us | {bytes_ / 1e6:.2f} MB | {t * 1000:.1f} | "
                  f"{compute / (compute + t):.0%} |")


if __name__ == "__main__":
    main()
