#!/usr/bin/env python3
"""Tests of the Python module `simile` (ctest: simile.python, label python).

Trains 100 steps through the module and through the `simile` tool with the same options and seed, and checks
that the test set's embeddings are the same bits; embeds numpy images; checks every loss's value and gradient
against NumPy or central differences; and that errors come out as simile's exceptions with its messages.

    PYTHONPATH=build/dev/python /usr/bin/python3 python/test_simile.py --simile build/dev/bin/simile --work /tmp/py
"""
import argparse
import gzip
import os
import shutil
import subprocess
import sys

import numpy as np

import simile

FASHION = "/usr/share/datasets/fashion-mnist"
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def raises(exc, parts, f, *args, **kwargs):
    try:
        f(*args, **kwargs)
    except exc as e:
        missing = [p for p in parts if p not in str(e)]
        return not missing or print(f"  message {str(e)!r} lacks {missing}")
    except Exception as e:  # noqa: BLE001 - reported as a failure
        print(f"  raised {type(e).__name__}: {e}, expected {exc.__name__}")
        return False
    print(f"  nothing raised, expected {exc.__name__}")
    return False


def test_training(tool, work):
    # The same run through the tool and through the module: the same bits.
    run = dict(limit=512, batch=32, max_steps=100, threads=2, seed=0, no_eval=True)
    cli_ckpt, cli_npy = os.path.join(work, "cli.safetensors"), os.path.join(work, "cli.npy")
    args = [tool, "train", "--quiet", "--checkpoint", cli_ckpt, "--export-embeddings", cli_npy]
    for k, v in run.items():
        args += ["--" + k.replace("_", "-")] + ([] if v is True else [str(v)])
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    check(out.stderr == "", "the tool with --quiet writes nothing on stderr")
    py_ckpt = os.path.join(work, "py.safetensors")
    r = simile.train(**run, checkpoint=py_ckpt, quiet=True)
    check(isinstance(r, dict) and r["steps"] == 100 and r["method"] == "simclr" and r["seed"] == 0,
          f"simile.train returns the run's JSON object as a dict ({r.get('steps')} steps)")
    check(np.isfinite(r["final_loss"]), "the final loss is finite")
    e = simile.embed(py_ckpt, split="test", threads=2)
    cli = np.load(cli_npy)
    check(e.dtype == np.float32 and e.shape == cli.shape == (10000, r_dim(py_ckpt)), f"embed: float32 {e.shape}")
    check(np.array_equal(e, cli), "simile.embed(split='test') equals the tool's --export-embeddings, bit for bit")
    # The tool's `embed` of the module's checkpoint, and the module's embedding of numpy images.
    cli_embed = os.path.join(work, "cli_embed.npy")
    subprocess.run([tool, "embed", "--quiet", "--threads", "2", "--checkpoint", py_ckpt, "--out", cli_embed], check=True)
    check(np.array_equal(np.load(cli_embed), e), "simile embed of the module's checkpoint gives the same array")
    with gzip.open(os.path.join(FASHION, "t10k-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    check(np.array_equal(simile.embed(py_ckpt, images, threads=2), e), "simile.embed(images uint8 [N, 28, 28]) equals it")
    four = images[:1000].reshape(-1, 1, 28, 28)
    check(np.array_equal(simile.embed(py_ckpt, four, threads=1, batch=100), e[:1000]),
          "[N, 1, 28, 28], another batch size and thread count: the same rows")
    strided = images[::7]  # not contiguous: copied, same result
    check(np.array_equal(simile.embed(py_ckpt, strided, threads=2), e[::7]), "a strided view of the images")
    check(simile.embed(py_ckpt, images[:0]).shape == (0, e.shape[1]), "no images: [0, D]")
    meta = simile.checkpoint_metadata(py_ckpt)
    check(meta.get("method") == "simclr" and meta.get("encoder") == "smallconv", f"checkpoint_metadata: {meta.get('method')}")
    ev = simile.eval(checkpoint=py_ckpt, limit=512, threads=2, knn_k=5, quiet=True)
    check(0 < ev["linear_probe_accuracy"] <= 1 and ev["dim"] == e.shape[1], f"simile.eval: {ev['linear_probe_accuracy']}")
    return py_ckpt


def r_dim(ckpt):
    return simile.embed(ckpt, np.zeros((1, 28, 28), np.uint8)).shape[1]


def test_errors(ckpt, work):
    check(issubclass(simile.BadArgument, simile.Error) and issubclass(simile.ShapeError, simile.Error)
          and issubclass(simile.IoError, simile.Error), "the exception hierarchy")
    check(raises(simile.BadArgument, ["--max-steps"], simile.train, max_steps=-1), "train(max_steps=-1)")
    check(raises(simile.BadArgument, ["--epoch"], simile.train, epoch=3), "train(epoch=3): unknown option")
    check(raises(simile.BadArgument, ["--method", "simclrr"], simile.train, method="simclrr"), "train(method=...)")
    check(raises(simile.BadArgument, ["--conv-algorithm"], simile.train, conv_algorithm="fft"), "train(conv_algorithm='fft')")
    direct = simile.train(limit=256, batch=32, max_steps=2, threads=2, no_eval=True, quiet=True, conv_algorithm="direct")
    check(direct["conv_algorithm"] == "direct", f"train(conv_algorithm='direct') runs it: {direct.get('conv_algorithm')}")
    check(raises(simile.BadArgument, ["--limit"], simile.train, limit=10**9, max_steps=1, quiet=True),
          "train(limit beyond the data): BadArgument after parsing")
    missing = os.path.join(work, "missing.safetensors")
    check(raises(simile.IoError, [missing], simile.embed, missing, np.zeros((1, 28, 28), np.uint8)),
          "embed of a missing checkpoint: IoError naming it")
    junk = os.path.join(work, "junk.safetensors")
    with open(junk, "wb") as f:
        f.write(b"\x08\x00\x00\x00\x00\x00\x00\x00{}junk!!")
    check(raises(simile.Error, [junk], simile.embed, junk, split="test"), "embed of a corrupt checkpoint names it")
    check(raises(TypeError, ["uint8", "float32"], simile.embed, ckpt, np.zeros((2, 28, 28), np.float32)),
          "embed(float32 images): TypeError")
    check(raises(simile.ShapeError, ["[2, 27, 28]"], simile.embed, ckpt, np.zeros((2, 27, 28), np.uint8)),
          "embed(images [2, 27, 28]): ShapeError")
    check(raises(simile.BadArgument, ["threads"], simile.embed, ckpt, np.zeros((2, 28, 28), np.uint8), threads=0),
          "embed(threads=0)")
    z = np.random.default_rng(0).standard_normal((5, 4))
    check(raises(simile.ShapeError, ["nt_xent", "5"], simile.losses.nt_xent, z), "nt_xent of 5 rows: ShapeError")
    check(raises(TypeError, ["int64", "float32 or float64"], simile.losses.nt_xent, np.zeros((4, 3), np.int64)),
          "nt_xent of integers: TypeError")
    check(raises(simile.ShapeError, ["[2, 2, 2]"], simile.losses.nt_xent, np.zeros((2, 2, 2))), "nt_xent of 3-D")
    check(raises(TypeError, ["float32", "float64"], simile.losses.vicreg, z.astype(np.float32), z),
          "vicreg of float32 and float64: TypeError")
    check(raises(simile.Error, ["temperature"], simile.losses.nt_xent, z[:4], temperature=0), "nt_xent(temperature=0)")


def numeric_grad(f, x, h=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        g[i] = (f(xp) - f(xm)) / (2 * h)
    return g


def test_losses():
    rng = np.random.default_rng(1)
    n, d = 4, 5

    def nt_xent_ref(z, tau):
        u = z / np.linalg.norm(z, axis=1, keepdims=True)
        s = u @ u.T / tau
        np.fill_diagonal(s, -np.inf)
        m = len(z) // 2
        pos = np.concatenate([np.arange(m, 2 * m), np.arange(m)])
        lse = np.log(np.exp(s).sum(axis=1))
        return float(np.mean(lse - s[np.arange(2 * m), pos]))

    z = rng.standard_normal((2 * n, d))
    v, g = simile.losses.nt_xent(z, temperature=0.3)
    check(abs(v - nt_xent_ref(z, 0.3)) < 1e-10, f"nt_xent value = NumPy's ({v:.6f})")
    check(np.allclose(g, numeric_grad(lambda x: nt_xent_ref(x, 0.3), z), atol=1e-6), "nt_xent gradient = central differences")
    v32, g32 = simile.losses.nt_xent(z.astype(np.float32), temperature=0.3)
    check(g32.dtype == np.float32 and g32.shape == z.shape and abs(v32 - v) < 1e-5 and np.allclose(g32, g, atol=1e-5),
          "nt_xent in float32: float32 gradient of the input's shape")
    check(isinstance(v, float), "the value is a Python float")

    def negcos_ref(p, t):
        return float(-np.mean(np.sum(p * t, 1) / np.linalg.norm(p, axis=1) / np.linalg.norm(t, axis=1)))

    p, t = rng.standard_normal((n, d)), rng.standard_normal((n, d))
    v, gp, gt = simile.losses.negative_cosine(p, t)
    check(abs(v - negcos_ref(p, t)) < 1e-12 and np.allclose(gp, numeric_grad(lambda x: negcos_ref(x, t), p), atol=1e-6)
          and not gt.any(), "negative_cosine: value, gradient, none to the target (stop-gradient)")
    v2, _, _ = simile.losses.negative_cosine(p, t, byol_form=True)
    check(abs(v2 - (2 + 2 * v)) < 1e-12, "negative_cosine(byol_form=True) = 2 - 2 cos")

    def barlow_ref(a, b, lam):
        za = (a - a.mean(0)) / np.sqrt(a.var(0) + 1e-5)
        zb = (b - b.mean(0)) / np.sqrt(b.var(0) + 1e-5)
        c = za.T @ zb / len(a)
        off = c - np.diag(np.diag(c))
        return float(np.sum((1 - np.diag(c)) ** 2) + lam * np.sum(off ** 2))

    a, b = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    v, ga, gb = simile.losses.barlow_twins(a, b, lambda_=0.01)
    check(abs(v - barlow_ref(a, b, 0.01)) < 1e-8, f"barlow_twins value = NumPy's ({v:.6f} vs {barlow_ref(a, b, 0.01):.6f})")

    # Every loss: the gradient of each input against central differences of the module's own value.
    labels = np.array([0, 1, 0, 1, 2, 2, 1, 0])
    x = rng.standard_normal((8, 3))
    pairs = np.array([[0, 2, 1], [1, 3, 1], [0, 1, 0], [4, 5, 1], [2, 7, 0]])
    cases = {
        "nt_xent": (simile.losses.nt_xent, [x], {}),
        "info_nce": (simile.losses.info_nce, [p, t], {"temperature": 0.5}),
        "info_nce negatives": (lambda q, k: simile.losses.info_nce(q, k, negatives=x[:, :1].repeat(5, 1)[:6], temperature=0.5),
                               [p, t], {}),
        "supcon": (lambda z: simile.losses.supcon(z, labels, temperature=0.5), [x], {}),
        "triplet": (lambda z: simile.losses.triplet(z, labels, margin=5.0, mining="all"), [x], {}),
        "contrastive": (lambda z: simile.losses.contrastive(z, pairs, margin=3.0), [x], {}),
        "barlow_twins": (simile.losses.barlow_twins, [a, b], {}),
        "vicreg": (simile.losses.vicreg, [a, b], {}),
    }
    for name, (f, inputs, kw) in cases.items():
        out = f(*inputs, **kw)
        ok = len(out) == 1 + len(inputs) and all(g.shape == i.shape and g.dtype == i.dtype for g, i in zip(out[1:], inputs))
        for k, inp in enumerate(inputs):
            def value(xk, k=k):
                args = list(inputs)
                args[k] = xk
                return f(*args, **kw)[0]
            ok = ok and np.allclose(out[1 + k], numeric_grad(value, inp), atol=1e-5)
        check(ok, f"{name}: (value, grads) with gradients = central differences")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--simile", required=True, help="the built tool")
    ap.add_argument("--work", required=True, help="a folder for the files (emptied)")
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    print(f"simile {simile.__version__} from {simile.__file__}, numpy {np.__version__}")
    test_losses()
    ckpt = test_training(a.simile, a.work)
    test_errors(ckpt, a.work)
    if failures:
        print(f"{len(failures)} failed: " + "; ".join(failures))
        return 1
    print("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
