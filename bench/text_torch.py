#!/usr/bin/python3
"""One dual-encoder training step of the text encoders in PyTorch against simile's `text_wordnet` in the same run.

Run with Debian's interpreter (python3-torch 1.13):

    /usr/bin/python3 bench/text_torch.py --threads 2 --text-wordnet build/dev/examples/text_wordnet

The model and recipe are simile's (include/simile/encoders/text.hpp, train/recipes/dual_encoder.hpp,
examples/text_wordnet.cpp), written the straightforward PyTorch way:
- `bag`: nn.Embedding(V, D, padding_idx=0) -> Dropout -> mean over the real tokens (id != 0) ->
  Linear(D, 2D) -> ReLU -> Linear(2D, D);
- `transformer`: nn.Embedding(V, D, padding_idx=0) + a learned position nn.Embedding(max_length, D) -> Dropout ->
  nn.TransformerEncoder(nn.TransformerEncoderLayer(D, heads, 4D, dropout, activation="gelu", batch_first=True,
  norm_first=True), layers, norm=nn.LayerNorm(D)) with src_key_padding_mask = (ids == 0) -> mean over the real
  tokens. simile's attention has no dropout on the attention weights, and nn.TransformerEncoderLayer passes its
  `dropout` to nn.MultiheadAttention as well, so each layer's `self_attn.dropout` is set to 0.0 after construction
  (F.multi_head_attention_forward then skips the dropout on the weights; the three other dropouts stay at p).
  PyTorch 1.13's fast path (the native "BetterTransformer" kernels and nested tensors) does not apply: it is
  for inference only (TransformerEncoderLayer refuses it "training is enabled" / grad enabled, and
  TransformerEncoder's nested-tensor path also excludes norm_first=True), so training runs the Python
  path of F.multi_head_attention_forward (in-projection, baddbmm with the additive padding mask, softmax, bmm).
- loss: symmetric in-batch InfoNCE on L2-normalized rows, tau = 0.05: with z = F.normalize(encoder(ids)), the
  2N rows of ONE batch (rows 0..N-1 side a, N..2N-1 side b), logits = z_a z_b^T / tau and
  loss = (CE(logits, arange) + CE(logits^T, arange)) / 2;
- AdamW(lr 1e-3, weight_decay 0.01) (1.13's default single-tensor implementation; --foreach for the other), a
  cosine learning-rate schedule as simile's trainer (costs nothing), zero_grad(set_to_none=True).
The batches are simile's own: `text_wordnet --dump-batches DIR` writes the padded ids of the first training
batches the trainer gets (WordNet example -> gloss and lemmas -> gloss pairs, BPE ids, each batch padded to
the longest of its 2N sequences, cut at max_length), and PyTorch trains on those batches in order (cycling if
there are fewer than steps), so both see the same lengths and padding. PyTorch's batches are ready-made
(int64 tensors); simile's step also builds its batch from the token lists (cheap) and checks the gradients
for NaN/inf, as its trainer always does.
PyTorch runs on OpenBLAS (OpenMP build) with jemalloc preloaded, set up by bench/torch_env.py (Debian's
PyTorch otherwise calls the reference BLAS: a transformer step took 10 s instead of 0.5 s at 2 threads);
with OpenBLAS's AVX-512 kernel on CPUs that have it (`--coretype`, as bench/losses_torch.py);
`--blas system` and `--allocator glibc` measure the default configuration instead. The JSON says which BLAS
PyTorch loaded and OpenBLAS's kernel (torch_blas, torch_blas_core).
PyTorch is timed per step after a warm-up (its first two steps take several times a steady one), median of
--repeats steps.
simile is timed by `text_wordnet --max-steps S --budget-seconds 0 --no-eval` (same model options, thread count
and batch) in the same script run: two runs of S1 and S2 steps, and the steady rate is
(S2 - S1) * N / (seconds2 - seconds1), so start-up (WordNet, BPE) and the first steps cancel out.
Speeds are in pairs per second (a pair of sentences is one sample, as simile's trainer counts it: the
`sentences_per_second` of text_wordnet's JSON is its samples per second, i.e. pairs per second);
sentences per second are twice that on both sides. On a shared machine compare the ratios.
Prints one JSON line per architecture.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import torch_env

def masked_mean(x, mask):
    """Mean of x [B, L, D] over the positions where mask [B, L] is true (0 for a row without any)."""
    m = mask.unsqueeze(-1).to(x.dtype)
    return (x * m).sum(1) / m.sum(1).clamp_min(1.0)


def init_embedding(e):
    # simile's TextEncoder: token and position rows N(0, 0.02^2), the padding row 0 (speed does not depend on it).
    nn.init.normal_(e.weight, 0.0, 0.02)
    if e.padding_idx is not None:
        with torch.no_grad():
            e.weight[e.padding_idx].zero_()


class BagEncoder(nn.Module):
    def __init__(self, vocab, width, dropout):
        super().__init__()
        self.embedding = nn.Embedding(vocab, width, padding_idx=0)
        self.dropout = nn.Dropout(dropout)
        self.mlp = nn.Sequential(nn.Linear(width, 2 * width), nn.ReLU(), nn.Linear(2 * width, width))

    def forward(self, ids):
        return self.mlp(masked_mean(self.dropout(self.embedding(ids)), ids != 0))


class TransformerTextEncoder(nn.Module):
    def __init__(self, vocab, width, layers, heads, max_length, dropout):
        super().__init__()
        self.embedding = nn.Embedding(vocab, width, padding_idx=0)
        self.position = nn.Embedding(max_length, width)
        init_embedding(self.embedding)
        init_embedding(self.position)
        self.dropout = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(width, heads, 4 * width, dropout, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(width), enable_nested_tensor=False)
        for l in self.encoder.layers:  # simile: no dropout on the attention weights (see the file comment)
            l.self_attn.dropout = 0.0

    def forward(self, ids):
        pad = ids == 0
        positions = torch.arange(ids.shape[1]).unsqueeze(0)
        x = self.dropout(self.embedding(ids) + self.position(positions))
        return masked_mean(self.encoder(x, src_key_padding_mask=pad), ~pad)


def dual_encoder_loss(h, n, tau):
    z = F.normalize(h, dim=1)
    logits = z[:n] @ z[n:].t() / tau
    target = torch.arange(n)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2


def time_torch(a, arch, vocab, batches):
    torch.manual_seed(0)
    if arch == "bag":
        model = BagEncoder(vocab, a.width, a.dropout)
    else:
        model = TransformerTextEncoder(vocab, a.width, a.layers, a.heads, a.max_length, a.dropout)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01, foreach=a.foreach)
    steps = a.warmup + a.repeats
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    times, losses = [], []
    for i in range(steps):
        ids = batches[i % len(batches)]
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = dual_encoder_loss(model(ids), ids.shape[0] // 2, a.temperature)
        loss.backward()
        opt.step()
        sched.step()
        if i >= a.warmup:
            times.append(time.perf_counter() - t0)
        losses.append(loss.item())
    if not all(math.isfinite(l) for l in losses):
        raise SystemExit(f"text_torch.py: PyTorch {arch} loss is not finite: {losses}")
    return statistics.median(times), statistics.mean(losses[-50:])


def text_wordnet(a, arch, extra, env):
    cmd = [a.text_wordnet, "--method", "pairs", "--architecture", arch, "--vocab", str(a.vocab), "--width",
           str(a.width), "--layers", str(a.layers), "--heads", str(a.heads), "--max-length", str(a.max_length),
           "--dropout", str(a.dropout), "--batch", str(a.batch), "--lr", str(a.lr), "--temperature",
           str(a.temperature), "--threads", str(a.threads)] + extra
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise SystemExit(f"text_torch.py: {' '.join(cmd)} failed ({out.returncode}):\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--architecture", nargs="+", choices=["bag", "transformer"], default=["bag", "transformer"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=256, help="pairs per batch (2N sequences)")
    ap.add_argument("--vocab", type=int, default=8000)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--max-length", type=int, default=32)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--temperature", type=float, default=0.05)
    ap.add_argument("--warmup", type=int, default=5, help="untimed PyTorch steps (its first two are slow)")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--foreach", action="store_true", help="PyTorch's multi-tensor AdamW (1.13's default: off)")
    ap.add_argument("--text-wordnet", default="build/dev/examples/text_wordnet")
    ap.add_argument("--simile-steps", type=int, nargs=2, default=[20, 120], metavar=("S1", "S2"))
    ap.add_argument("--no-simile", action="store_true", help="time PyTorch only (the batches still come from simile)")
    ap.add_argument("--allocator", choices=["jemalloc", "glibc"], default="jemalloc")
    ap.add_argument("--blas", choices=["openblas", "system"], default="openblas",
                    help="PyTorch's BLAS: OpenBLAS (OpenMP build) or the system's libblas.so.3")
    ap.add_argument("--coretype", default="auto",
                    help="OpenBLAS kernel (OPENBLAS_CORETYPE); auto: SkylakeX with AVX-512, else OpenBLAS's choice; "
                         "none: OpenBLAS's choice")
    a = ap.parse_args()
    torch_env.arrange("text_torch.py", a.allocator, a.blas, None if a.coretype == "none" else a.coretype)
    if a.simile_steps[1] <= a.simile_steps[0]:
        ap.error("--simile-steps S1 S2 needs S2 > S1")
    torch.set_num_threads(a.threads)
    blas, allocator, env = torch_env.loaded_blas(), torch_env.allocator(), torch_env.child_env()
    for arch in a.architecture:
        with tempfile.TemporaryDirectory(prefix="text_torch_") as tmp:
            # The batches do not depend on the architecture; dumped per architecture to keep the loop simple.
            dump = text_wordnet(a, arch, ["--dump-batches", tmp, "--max-steps", str(a.warmup + a.repeats)], env)
            arrays = [np.load(os.path.join(tmp, f"batch_{i}.npy")) for i in range(dump["dumped_batches"])]
        batches = [torch.from_numpy(x.astype(np.int64)) for x in arrays]
        assert all(b.shape[0] == 2 * a.batch for b in batches), [b.shape for b in batches]
        real = np.mean([float((x != 0).mean()) for x in arrays])
        result = {"architecture": arch, "threads": a.threads, "batch": a.batch, "vocab": dump["vocab"],
                  "padded_length_median": int(np.median([x.shape[1] for x in arrays])),
                  "real_token_fraction": round(real, 3), "torch": torch.__version__, "torch_allocator": allocator,
                  "torch_blas": blas, "torch_blas_core": torch_env.openblas_core(), "torch_adamw_foreach": a.foreach}
        t, loss = time_torch(a, arch, dump["vocab"], batches)
        result["torch_ms"] = round(t * 1e3, 2)
        result["torch_pairs_per_second"] = round(a.batch / t, 1)
        result["torch_final_loss"] = round(loss, 4)  # the mean of the last 50 steps' losses, as simile's
        if not a.no_simile:
            runs = [text_wordnet(a, arch, ["--max-steps", str(s), "--budget-seconds", "0", "--no-eval"], env)
                    for s in a.simile_steps]
            rate = (runs[1]["steps"] - runs[0]["steps"]) * a.batch / (runs[1]["seconds"] - runs[0]["seconds"])
            result["simile_ms"] = round(a.batch / rate * 1e3, 2)
            result["simile_pairs_per_second"] = round(rate, 1)
            result["simile_final_loss"] = round(runs[1]["final_loss"], 4)
            result["simile_vs_torch"] = round(rate / result["torch_pairs_per_second"], 2)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
