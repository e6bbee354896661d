#!/usr/bin/env python3
"""Bad input against the `simile` tool, as an attacker would send it.

Builds a tiny Fashion-MNIST-shaped data set and a few good checkpoints in a scratch folder, then runs the
tool on hundreds of mutations of its flags, data files and checkpoints, on outputs that cannot be written
and on runs that diverge. Every case must end in one of the expected ways:

- no crash (a signal, or an exit status other than 0, 1 or 2) and no hang (a timeout);
- a bad input is refused (exit status 2 for a bad command line, 1 otherwise), never silently accepted;
- the refusal is one line on stderr, `simile <command>: ...`, that names the option or the file at fault;
- an output that cannot be written leaves the previous file as it was, and no temporary file behind.

Usage: attack_cli.py --simile PATH --work DIR [--jobs N] [--seed S] [--sample F] [--verbose]
Prints one line per failed case and a summary; exits 1 when any case failed. --sample F runs a seeded fraction F
of the cases, drawn from each family (flags, data files, checkpoints, text and tables, image folders, figures)
alike, and every output case: for a tool that starts slowly, as under AddressSanitizer (0.4 s a run), where the
release build runs them all.
"""

import concurrent.futures
import gzip
import json
import os
import random
import resource
import signal
import struct
import subprocess
import sys
import zlib

from common import NAMES, arguments, idx, idx_images, tiny_fashion, write_dataset

TIMEOUT = 30  # seconds; a refused case that takes longer is a hang (each is refused in well under a second)
WORK_TIMEOUT = 120  # seconds for a case that may succeed: it trains or evaluates, slowly under a sanitizer


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    return header, raw[8 + n :]


def write_safetensors(path, header, data, raw_header=None):
    h = raw_header if raw_header is not None else json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


# ---------------------------------------------------------------------------------------------------------
# Cases


class Case:
    """One run of the tool. expect: "bad" (must be refused), "bad2" (refused with status 2), "ok" (must
    succeed) or "any" (either, but no crash, hang or unnamed error). `names`: a string the error line must
    contain. `keep`: {path: bytes} files that must be unchanged afterwards. `check`: an extra predicate.
    `timeout`: seconds before the run counts as a hang (default TIMEOUT for a case that must be refused,
    WORK_TIMEOUT for one that may succeed: it does real work, which under ASan on a loaded machine has taken
    more than 30 s for a good MoCo checkpoint's evaluation)."""

    def __init__(self, name, args, expect, names=None, keep=None, fsize=None, check=None, cwd=None, timeout=None):
        self.name, self.args, self.expect, self.names = name, args, expect, names
        self.keep, self.fsize, self.check, self.cwd = keep or {}, fsize, check, cwd
        self.timeout = timeout or (TIMEOUT if expect.startswith("bad") else WORK_TIMEOUT)


def run_case(simile, case):
    def limits():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (case.fsize, case.fsize))

    # A preexec_fn only where a case needs one: with it Python must fork() its whole process (page tables
    # and all) before the exec; without, it takes vfork(), and the suite runs in 38 s instead of 65.
    try:
        p = subprocess.run([simile] + case.args, capture_output=True, timeout=case.timeout,
                           preexec_fn=limits if case.fsize is not None else None,
                           stdin=subprocess.DEVNULL, cwd=case.cwd)
    except subprocess.TimeoutExpired:
        return "hang", f"no exit within {case.timeout}s"
    err = p.stderr.decode(errors="replace").strip().splitlines()
    last = err[-1] if err else ""
    rc = p.returncode
    if rc < 0 or rc not in (0, 1, 2):
        return "crash", f"status {rc}: {last}"
    for path, content in case.keep.items():
        now = open(path, "rb").read() if os.path.exists(path) else None
        if now != content:
            return "lost", f"{path} was changed or removed (status {rc}: {last})"
    for path in case.keep:
        folder, base = os.path.split(path)
        stray = [f for f in os.listdir(folder or ".") if f.startswith(base + ".tmp")]
        if stray:
            return "lost", f"temporary files left: {stray}"
    if rc == 0:
        if case.expect in ("bad", "bad2"):
            return "accepted", f"status 0; stdout {p.stdout.decode(errors='replace').strip()[:200]}"
    else:
        if case.expect == "ok":
            return "failed", f"status {rc}: {last}"
        if case.expect == "bad2" and rc != 2:
            return "status", f"status {rc}, expected 2: {last}"
        if not last.startswith("simile"):
            return "unnamed", f"last stderr line does not start with 'simile <command>:': {last!r}"
        names = [case.names] if isinstance(case.names, str) else case.names or []
        if names and not any(n in last for n in names):
            return "unnamed", f"error does not name {' or '.join(map(repr, names))}: {last}"
    if case.check:
        problem = case.check(p)
        if problem:
            return "check", problem
    return None, ""


def flag_cases(g, base, ckpt):
    cases = []
    junk_int = ["", "abc", "12x", "1.5", "1e3", "0x10", "010", "nan", "inf", "9223372036854775808",
                "-9223372036854775809", "18446744073709551617", "99999999999999999999999", " 5", "5 ", "+ 5"]
    junk_real = ["", "abc", "0.5x", "nan", "NaN", "inf", "-inf", "1e400", "-1e400", "0x1p3z", "1,5", "--"]
    int_ranges = {
        "--limit": ["-5", "-1", "1000000001"],
        "--threads": ["0", "-1", "100000"],
        "--seed": ["-1", "18446744073709551616"],
        "--proj-hidden": ["0", "-3", "1000000000"],
        "--readout-grid": ["0", "-1", "8"],
        "--proj-out": ["0", "1000000000"],
        "--knn-k": ["0", "-1"],
        "--epochs": ["0", "-1", "4611686018427387904"],
        "--max-steps": ["-1", "9223372036854775807"],
        "--batch": ["0", "1", "-1", "1000000000"],
        "--warmup-epochs": ["-1"],
        "--queue-size": ["0", "-1", "1099511627776"],
        "--checkpoint-every": ["-1"],
        "--log-every": ["0", "-1"],
        "--vocab": ["0", "15", "1048577"],
        "--max-length": ["0", "4097"],
        "--width": ["0", "8193"],
        "--layers": ["0", "65"],
        "--heads": ["0", "65"],
    }
    real_ranges = {
        "--knn-t": ["0", "-0.1"],
        "--budget-seconds": ["-1", "1e300"],
        "--lr": ["0", "-0.001"],
        "--weight-decay": ["-1"],
        "--temperature": ["0", "-0.5", "1e-30"],
        "--ema": ["1.5", "-0.1"],
        "--dropout": ["-0.1", "0.95", "1"],
        "--corruption": ["-0.1", "1.5"],
        "--test-fraction": ["0", "1", "-0.5", "1.5"],
    }
    for opt, values in int_ranges.items():
        for v in junk_int + values:
            cases.append(Case(f"flag {opt}={v!r}", base + [opt, v], "bad2", names=opt))
    for opt, values in real_ranges.items():
        for v in junk_real + values:
            cases.append(Case(f"flag {opt}={v!r}", base + [opt, v], "bad2", names=opt))
    # Image augmentation specs: each refused naming the option and the step.
    for v in ["", "twirl", "crop", "crop:1.5", "crop:0.2:", "crop:0.2,,flip", "flip@2", "flip@", "@0.5", "rotate:181",
              "jitter:0.4:0.4:0.4:0.6", "blur:0:1", "noise:-0.1", "erase:0.1", "solarize:1.5", "crop:nan", "crop:1e999",
              "flip:1", "default,", ",default", "crop:0.2 ,flip", "résumé"]:
        cases.append(Case(f"flag --augment={v!r}", base + ["--augment", v], "bad2", names="--augment"))
    for opt in ["--method", "--encoder", "--optimizer", "--schedule", "--modality", "--label-column", "--precision",
                "--conv-algorithm"]:
        for v in ["", "nope", "SIMCLR", "simclr "]:
            cases.append(Case(f"flag {opt}={v!r}", base + [opt, v], "bad2", names=opt))
    for v in ["fp16", "BF16", "bf16 ", " f32", "float32", "f64", "bfloat16", "f16", "tf32", "int8"]:
        cases.append(Case(f"flag --precision={v!r}", base + ["--precision", v], "bad2", names="--precision"))
    for v in ["auto", "Winograd", "winograd ", "direct,winograd", "wino", "gemm", "im2col", "implicit", "0"]:
        cases.append(Case(f"flag --conv-algorithm={v!r}", base + ["--conv-algorithm", v], "bad2",
                          names="--conv-algorithm"))
    for opt in list(int_ranges) + list(real_ranges) + ["--method", "--data", "--checkpoint", "--metrics", "--modality",
                                                       "--label-column", "--precision", "--conv-algorithm"]:
        cases.append(Case(f"flag {opt} without a value", base + [opt], "bad2", names=opt))
    nowhere = os.path.join(g, "no", "such", "dir")
    cases += [
        Case("no command", [], "bad2"),
        Case("unknown command", ["fit"], "bad2", names="fit"),
        Case("unknown option", base + ["--epoch", "3"], "bad2", names="--epoch"),
        Case("repeated option", base + ["--batch", "16", "--batch", "32"], "bad2", names="--batch"),
        Case("stray argument", base + ["extra"], "bad2", names="extra"),
        Case("--data missing", base + ["--data", nowhere], "bad2", names="--data"),
        Case("--data a file", base + ["--data", ckpt], "bad2", names="--data"),
        Case("--resume missing", base + ["--resume", nowhere], "bad2", names="--resume"),
        Case("--readout-grid with the mlp encoder", base + ["--encoder", "mlp", "--readout-grid", "2"], "bad2",
             names="--readout-grid"),
        Case("--checkpoint in a missing folder", base + ["--checkpoint", nowhere + "/c.st"], "bad2", names="--checkpoint"),
        Case("--checkpoint a folder", base + ["--checkpoint", g], "bad2", names="--checkpoint"),
        Case("--metrics in a missing folder", base + ["--metrics", nowhere + "/m.jsonl"], "bad2", names="--metrics"),
        Case("--metrics a folder", base + ["--metrics", g], "bad2", names="--metrics"),
        Case("--export-embeddings in a missing folder", base + ["--export-embeddings", nowhere + "/e.npy"], "bad",
             names="--export-embeddings"),
        Case("--export-embeddings a folder", base + ["--export-embeddings", g], "bad2", names="--export-embeddings"),
        Case("--batch above the data", base + ["--limit", "20", "--batch", "32"], "bad2", names="--batch"),
        Case("a MoCo queue larger than the machine",
             ["train", "--data", g, "--method", "moco", "--queue-size", "16777216", "--proj-out", "8192", "--no-eval"],
             "bad2", names="--queue-size"),
        Case("--limit above the data", base + ["--limit", "100000"], "bad2", names="--limit"),
        Case("a text method on images", base + ["--modality", "image", "--method", "simcse"], "bad2", names="--method"),
        Case("a table method with a text encoder", ["train", "--data", g, "--method", "scarf", "--encoder", "bag"], "bad2",
             names="--encoder"),
        Case("--modality text with an image encoder", ["train", "--modality", "text", "--encoder", "mlp"], "bad2",
             names="--encoder"),
        Case("--heads not dividing --width", ["train", "--modality", "text", "--width", "30", "--heads", "4"], "bad2",
             names="--heads"),
        Case("--modality table without --data", ["train", "--modality", "table"], "bad2", names="--data"),
        Case("--modality table with a folder", ["train", "--modality", "table", "--data", g], "bad2", names="--data"),
        Case("--modality text with a folder that is not WordNet", ["train", "--modality", "text", "--data", g], "bad2",
             names="--data"),
        Case("--warmup-epochs above --epochs", base + ["--epochs", "2", "--warmup-epochs", "5"], "bad2",
             names="--warmup-epochs"),
        Case("--knn-k above the training set", ["eval", "--data", g, "--baseline", "raw", "--knn-k", "100000"], "bad2",
             names="--knn-k"),
        Case("eval with both", ["eval", "--data", g, "--baseline", "raw", "--checkpoint", ckpt], "bad2"),
        Case("eval with neither", ["eval", "--data", g], "bad2"),
        Case("eval --baseline junk", ["eval", "--data", g, "--baseline", "cooked"], "bad2", names="--baseline"),
        Case("embed without --out", ["embed", "--data", g, "--checkpoint", ckpt], "bad2", names="--out"),
        Case("embed --split junk", ["embed", "--data", g, "--checkpoint", ckpt, "--out", "x.npy", "--split", "dev"],
             "bad2", names="--split"),
        Case("embed --out in a missing folder", ["embed", "--data", g, "--checkpoint", ckpt, "--out", nowhere + "/x.npy"],
             "bad2", names="--out"),
        Case("embed --out a folder", ["embed", "--data", g, "--checkpoint", ckpt, "--out", g], "bad2", names="--out"),
        Case("--augment on text", ["train", "--modality", "text", "--augment", "flip"], "bad2", names="--augment"),
        Case("--augment with a normalization", base + ["--augment", "default,normalize:0.3:0.4"], "bad2",
             names=["--augment", "normalize:0.3:0.4"]),
        Case("good --augment", base + ["--augment", "reference,rotate:10@0.5,blur:0.1:1@0.3,erase@0.25,solarize@0.1"],
             "ok"),
        Case("--augment none", base + ["--augment", "none"], "ok"),
        # A learning rate that makes the weights overflow in one step is stopped by the NaN guard.
        Case("--lr 1e300", base + ["--lr", "1e300"], "bad", names="learning rate"),
        # Good command lines stay good.
        Case("good train", base, "ok"),
        Case("good eval raw", ["eval", "--data", g, "--baseline", "raw", "--knn-k", "5"], "ok"),
        Case("good eval checkpoint", ["eval", "--data", g, "--checkpoint", ckpt, "--knn-k", "5"], "ok"),
    ]
    return cases


def data_cases(rng, root, good_files, run_args):
    """Mutations of the IDX files; `run_args(folder)` is the command that reads them."""
    cases = []
    n = 0

    def case(name, key, content, expect="bad", files=None, names=None):
        nonlocal n
        n += 1
        folder = os.path.join(root, f"data{n:03d}")
        files = dict(files or good_files)
        if key is not None:
            files[key] = content
        write_dataset(folder, files)
        cases.append(Case(f"data: {name}", run_args(folder), expect, names=names or NAMES[key]))
        return folder

    img = good_files["train_images"]
    lab = good_files["train_labels"]
    for k in [0, 1, 3, 4, 7, 8, 12, 15, 16, 17, 100, len(img) // 2, len(img) - 1]:
        case(f"train images truncated to {k} bytes", "train_images", img[:k])
    for k in [0, 4, 8, len(lab) - 1]:
        case(f"train labels truncated to {k} bytes", "train_labels", lab[:k])
    case("train images with 1 extra byte", "train_images", img + b"\0")
    case("train images with 1000 extra bytes", "train_images", img + bytes(1000))
    for t in [0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0xFF]:
        case(f"train images of IDX type {t:#x}", "train_images", img[:2] + bytes([t]) + img[3:])
    for nd in [0, 1, 2, 4, 6, 255]:
        case(f"train images with {nd} dimensions", "train_images", img[:3] + bytes([nd]) + img[4:])
    case("train images with magic 0xFFFF", "train_images", b"\xff\xff" + img[2:])
    count = len(lab) - 8
    for dims, label in [([0xFFFFFFFF, 28, 28], "2^32-1 images"), ([count, 0xFFFF, 0xFFFF], "65535x65535 pixels"),
                        ([count * 2, 28, 28], "twice the images"), ([count, 28, 0], "0 columns"),
                        ([count, 0, 28], "0 rows"), ([0x10000000, 0x10000000, 0x10], "a product past 2^64")]:
        case(f"train images header claiming {label}", "train_images", idx(0x08, dims, img[16:]))
    case("train images: 0 images", "train_images", idx(0x08, [0, 28, 28], b""), files={
        **good_files, "train_labels": idx(0x08, [0], b"")})
    case("train images: 32x32 while the test set is 28x28", "train_images",
         idx_images(rng, count, 32, 32), names=None)
    case("test images: 20x20 while the train set is 28x28", "test_images",
         idx_images(rng, len(good_files["test_labels"]) - 8, 20, 20))
    for value in [10, 11, 200, 255]:
        case(f"train label {value} (10 classes)", "train_labels", lab[:8] + bytes([value]) + lab[9:])
        case(f"test label {value} (10 classes)", "test_labels",
             good_files["test_labels"][:8] + bytes([value]) + good_files["test_labels"][9:])
    case("train labels: one fewer than images", "train_labels", idx(0x08, [count - 1], lab[8:-1]))
    case("train labels: the image file", "train_labels", img)
    case("train images: the label file", "train_images", lab)
    case("train labels as int32", "train_labels", idx(0x0C, [count], bytes(4 * count)))
    for i in range(20):
        b = bytearray(img)
        at = rng.randrange(16)
        b[at] ^= 1 << rng.randrange(8)
        case(f"train images header bit flip #{i} at byte {at}", "train_images", bytes(b))
    # gzip
    gz = gzip.compress(img, mtime=0)
    case("gzip train images", "train_images", (".gz", gz), expect="ok")
    for k in [2, 10, 18, 30, len(gz) // 2, len(gz) - 9, len(gz) - 8, len(gz) - 4, len(gz) - 1]:
        case(f"gzip train images truncated to {k} of {len(gz)} bytes", "train_images", (".gz", gz[:k]))
    b = bytearray(gz)
    b[-8] ^= 0xFF
    case("gzip train images with a bad CRC", "train_images", (".gz", bytes(b)))
    b = bytearray(gz)
    b[-2] ^= 0x01
    case("gzip train images with a bad length", "train_images", (".gz", bytes(b)))
    for i in range(12):
        b = bytearray(gz)
        at = rng.randrange(10, len(gz) - 8)
        b[at] ^= 1 << rng.randrange(8)
        case(f"gzip train images, deflate bit flip #{i} at byte {at}", "train_images", (".gz", bytes(b)))
    case("gzip with trailing garbage", "train_images", (".gz", gz + b"garbage!"))
    case("gzip of a truncated IDX", "train_images", (".gz", gzip.compress(img[:-100], mtime=0)))
    case("gzip of 2^32-1 images", "train_images",
         (".gz", gzip.compress(idx(0x08, [0xFFFFFFF0, 28, 28], bytes(1 << 20)), mtime=0)))
    case("gzip magic only", "train_images", (".gz", b"\x1f\x8b"))
    # Files that are not regular files.
    for kind in ["folder", "fifo", "dev_zero", "dangling", "loop"]:
        n += 1
        folder = os.path.join(root, f"data{n:03d}")
        write_dataset(folder, good_files)
        target = os.path.join(folder, NAMES["train_images"])
        os.remove(target)
        if kind == "folder":
            os.mkdir(target)
        elif kind == "fifo":
            os.mkfifo(target)
        elif kind == "dev_zero":
            os.symlink("/dev/zero", target)
        elif kind == "dangling":
            os.symlink(os.path.join(folder, "nothing"), target)
        else:
            os.symlink(target, target)
        cases.append(Case(f"data: train images are a {kind}", run_args(folder), "bad", names=NAMES["train_images"]))
    return cases


def checkpoint_cases(rng, root, g, ckpts, base_train):
    """Mutations of checkpoints written by `simile train`. ckpts: {method: path}."""
    cases = []
    n = 0

    def commands(path, method):
        t = base_train(method) + ["--resume", path, "--checkpoint", path + ".out"]
        return {
            "eval": ["eval", "--data", g, "--checkpoint", path, "--knn-k", "5"],
            "resume": t,
            "embed": ["embed", "--data", g, "--checkpoint", path, "--out", path + ".npy"],
        }

    def add(name, content, expect="bad", method="simclr", which=("eval", "resume"), names=None):
        nonlocal n
        n += 1
        path = os.path.join(root, f"ckpt{n:03d}.st")
        if callable(content):
            content(path)
        else:
            with open(path, "wb") as f:
                f.write(content)
        for w, args in commands(path, method).items():
            if w in which:
                cases.append(Case(f"checkpoint ({method}, {w}): {name}", args, expect, names=names or path))

    raw = open(ckpts["simclr"], "rb").read()
    hlen = struct.unpack("<Q", raw[:8])[0]
    header, data = read_safetensors(ckpts["simclr"])
    add("good", raw, expect="ok", which=("eval", "resume", "embed"))
    for k in sorted({0, 4, 7, 8, 9, 8 + hlen // 2, 8 + hlen - 1, 8 + hlen, 8 + hlen + 1, len(raw) // 2, len(raw) - 4,
                     len(raw) - 1}):
        add(f"truncated to {k} of {len(raw)} bytes", raw[:k], which=("eval", "resume", "embed"))
    add("1 extra byte", raw + b"\0")
    for v in [0, 1, hlen - 1, hlen + 1, len(raw), 1 << 40, (1 << 63) + 8, (1 << 64) - 1]:
        add(f"header length {v}", struct.pack("<Q", v) + raw[8:])
    for i in range(40):
        b = bytearray(raw)
        at = rng.randrange(8, 8 + hlen)
        b[at] = rng.choice(b'{}[]:,"0123456789-e.x \\\x00\xff')
        add(f"header byte {at} replaced #{i}", bytes(b), expect="any")
    for i in range(6):
        b = bytearray(raw)
        at = rng.randrange(8 + hlen, len(raw))
        b[at] ^= 1 << rng.randrange(8)
        add(f"data bit flip #{i} at byte {at}", bytes(b), expect="any")

    def edited(edit, expect="bad", method="simclr", which=("eval", "resume"), name=None, names=None):
        src_header, src_data = read_safetensors(ckpts[method])
        h = json.loads(json.dumps(src_header))
        d = edit(h, src_data)
        add(name, lambda p: write_safetensors(p, h, src_data if d is None else d), expect=expect, method=method,
            which=which, names=names)

    weights = [k for k in header if k != "__metadata__" and not k.startswith("train.") and header[k]["dtype"] == "F32"]
    first = weights[0]
    running_var = next(k for k in header if k.endswith("running_var"))
    counter = next(k for k in header if k.endswith("num_batches_tracked"))
    nb = header[first]["data_offsets"][1] - header[first]["data_offsets"][0]
    numel = nb // 4

    def put(name, fmt, values):
        def edit(h, d):
            b, e = h[name]["data_offsets"]
            count = (e - b) // struct.calcsize(fmt)
            vals = (values * count)[:count]
            return d[:b] + struct.pack(f"<{count}{fmt}", *vals) + d[e:]
        return edit

    def put_first(name, fmt, value):
        def edit(h, d):
            b, _ = h[name]["data_offsets"]
            s = struct.calcsize(fmt)
            return d[:b] + struct.pack(f"<{fmt}", value) + d[b + s:]
        return edit

    edited(put_first(first, "f", float("nan")), name=f"NaN in {first}", which=("eval", "resume", "embed"))
    edited(put_first(first, "f", float("inf")), name=f"+inf in {first}")
    edited(put_first(weights[-1], "f", float("-inf")), name=f"-inf in {weights[-1]}")
    edited(put(running_var, "f", [-1.0]), name=f"negative {running_var}", which=("eval", "resume", "embed"))
    edited(put(running_var, "f", [float("nan")]), name=f"NaN {running_var}")
    edited(put(counter, "q", [-7]), name=f"negative {counter}")
    opt_state = [k for k in header if k.startswith("train.optim.") and k.endswith("exp_avg_sq")]
    if opt_state:
        edited(put(opt_state[0], "f", [-1.0]), name=f"negative {opt_state[0]}", which=("resume",))
        edited(put(opt_state[0], "f", [float("nan")]), name=f"NaN {opt_state[0]}", which=("resume",))
    for key, values in [("train.step", [-5]), ("train.step", [1 << 62]), ("train.epoch", [-(10 ** 12)]),
                        ("train.epoch", [-1]), ("train.epoch", [1 << 62]), ("train.batch", [-1]),
                        ("train.batch", [1 << 40]), ("train.total_steps", [-3]), ("train.total_steps", [0]),
                        ("train.optim.steps", [-1]), ("train.seed", [12345])]:
        if key in header:
            edited(put(key, "q", values), name=f"{key} = {values[0]}", which=("resume",))
    if "train.optim.lr" in header:
        edited(put("train.optim.lr", "d", [float("nan")]), name="optimizer lr NaN", which=("resume",))
        edited(put("train.optim.lr", "d", [-1.0]), name="optimizer lr -1", which=("resume",))
    step_keys = [k for k in header if k.startswith("train.optim.") and k.endswith(".step")]
    if step_keys:
        edited(put(step_keys[0], "q", [-4]), name=f"{step_keys[0]} = -4", which=("resume",))

    # Header structure.
    def dtype(name, to):
        def edit(h, d):
            h[name]["dtype"] = to
        return edit

    for to in ["F64", "I64", "U8", "BF16", "F16", "x", ""]:
        edited(dtype(first, to), name=f"{first} as dtype {to!r}")

    def shape(name, s):
        def edit(h, d):
            h[name]["shape"] = s
        return edit

    sh = header[first]["shape"]
    for s, label in [([numel + 1], "one more element"), ([1] + sh, "an extra axis of 1"), (sh[::-1], "reversed"),
                     ([-1] + sh[1:], "negative"), ([(1 << 62) + 1, numel], "product wrapping to the true size"),
                     ([1 << 32, 1 << 32], "product 2^64"), ([1.5], "a fraction"), (["3"], "a string"),
                     ([1] * 9, "rank 9"), ([], "scalar")]:
        edited(shape(first, s), name=f"{first} with shape {label}")

    def offsets(name, o):
        def edit(h, d):
            h[name]["data_offsets"] = o
        return edit

    b, e = header[first]["data_offsets"]
    for o, label in [([e, b], "swapped"), ([b, e + 4], "4 bytes long"), ([b + 4, e + 4], "shifted"),
                     ([-4, e], "negative"), ([b, (1 << 64) + e], "past 2^64"), ([b], "one number"),
                     ([str(b), str(e)], "strings")]:
        edited(offsets(first, o), name=f"{first} offsets {label}")

    def drop(name):
        def edit(h, d):
            del h[name]
        return edit

    edited(drop(first), name=f"{first} missing", names=None)
    edited(drop("train.step"), name="train.step missing", which=("resume",))

    def meta(key, value):
        def edit(h, d):
            if value is None:
                h["__metadata__"].pop(key, None)
            else:
                h["__metadata__"][key] = value
        return edit

    for key, value in [("proj_hidden", "128abc"), ("proj_hidden", "-1"), ("proj_hidden", "0"),
                       ("proj_hidden", "99999999999999999999"), ("proj_hidden", "4000000000"), ("proj_hidden", ""),
                       ("proj_out", "6.4e1"), ("queue_size", "1e9"), ("method", "nope"), ("encoder", "vgg"),
                       ("encoder", "mlp"), ("method", "byol"), ("recipe", "byol"), ("method", None),
                       ("encoder", None), ("proj_out", None), ("method", 3), ("method", ["simclr"]),
                       ("readout_grid", "0"), ("readout_grid", "8"), ("readout_grid", "2x"),
                       ("readout_grid", "1"), ("readout_grid", None), ("readout_grid", "")]:
        edited(meta(key, value), name=f"metadata {key} = {value!r}", which=("eval", "resume", "embed"))

    def huge_queue(h, d):
        # Each value within its range, but a MoCo queue of 2^24 x 8192 floats (512 GB): refused before allocating.
        h["__metadata__"].update({"method": "moco", "recipe": "moco", "queue_size": "16777216", "proj_out": "8192"})

    edited(huge_queue, name="metadata of a 512 GB MoCo queue", which=("eval", "embed"))

    def whole_meta(value):
        def edit(h, d):
            h["__metadata__"] = value
        return edit

    edited(whole_meta("x"), name="metadata a string")
    edited(whole_meta(None), name="metadata null")

    # Raw-text edits: duplicate names, nesting, non-JSON.
    text = raw[8 : 8 + hlen].decode()
    entry = f'"{first}":' + json.dumps(header[first], separators=(",", ":"))
    if entry in text:
        dup = text.replace(entry, entry + "," + entry, 1).encode()
        add(f"{first} twice", lambda p: write_safetensors(p, None, data, raw_header=dup))
    deep = b'{"a":' + b"[" * 100000 + b"]" * 100000 + b"}"
    add("a header nested 100000 deep", lambda p: write_safetensors(p, None, data, raw_header=deep))
    add("a header of invalid UTF-8", lambda p: write_safetensors(p, None, data, raw_header=b'{"\xff\xfe":1}'))
    add("a header that is a JSON array", lambda p: write_safetensors(p, None, data, raw_header=b"[1,2,3]"))
    add("a header with a NUL", lambda p: write_safetensors(p, None, data, raw_header=b'{"x"\x00:1}'))
    add("an empty header object", lambda p: write_safetensors(p, None, b"", raw_header=b"{}"))
    add("an IDX file", open(os.path.join(g, NAMES["train_images"]), "rb").read())
    add("a gzip file", gzip.compress(raw, mtime=0))

    # Another method's checkpoint, and MoCo's queue.
    edited(lambda h, d: None, method="moco", expect="ok", which=("eval", "resume"), name="good moco")
    qkeys = [k for k in json.load(open(ckpts["moco"] + ".keys")) if "queue" in k]
    for k in qkeys:
        src_header, _ = read_safetensors(ckpts["moco"])
        fmt = "q" if src_header[k]["dtype"] == "I64" else "f"
        for v in ([-1, 1 << 40] if fmt == "q" else [float("nan")]):
            edited(put(k, fmt, [v]), method="moco", name=f"{k} = {v}", which=("resume",))
    add("a simclr checkpoint resumed as moco", raw, method="moco", which=("resume",))

    # Paths that are not regular files.
    for kind in ["fifo", "folder", "dev_zero"]:
        n += 1
        path = os.path.join(root, f"ckpt{n:03d}.st")
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "folder":
            os.mkdir(path)
        else:
            os.symlink("/dev/zero", path)
        for w, args in commands(path, "simclr").items():
            cases.append(Case(f"checkpoint ({w}) that is a {kind}", args, "bad", names=path))
    return cases


def file_writer(folder, prefix=""):
    """write(content, suffix): `content` (bytes, or text as UTF-8) into the next numbered file of `folder`,
    returning its path."""
    count = 0

    def write(content, suffix):
        nonlocal count
        count += 1
        path = os.path.join(folder, f"{prefix}{count:03d}{suffix}")
        with open(path, "wb") as f:
            f.write(content.encode() if isinstance(content, str) else content)
        return path
    return write


def npy(shape, values=None, descr="<f4", fortran=False, header=None, cut=0):
    """An NPY file's bytes (version 1.0): `values` (floats) or zeros, in `descr`'s format."""
    n = 1
    for d in shape:
        n *= d
    values = values if values is not None else [0.25 * (i % 7) for i in range(n)]
    fmt = {"<f4": "<f", ">f4": ">f", "<f8": "<d", "<i4": "<i"}[descr]
    data = b"".join(struct.pack(fmt, int(v) if descr == "<i4" else v) for v in values)
    dims = "(" + "".join(f"{d}," if len(shape) == 1 else f"{d}, " for d in shape).rstrip(" ") + ")"
    text = header or f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {dims}, }}"
    text += " " * ((64 - (10 + len(text) + 1) % 64) % 64) + "\n"
    blob = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode() + data
    return blob[:len(blob) - cut] if cut else blob


def feature_cases(root, g):
    """`eval --features TRAIN.npy TEST.npy` against the good data (96 training and 48 test images)."""
    folder = os.path.join(root, "features")
    os.makedirs(folder, exist_ok=True)
    cases = []

    def case(name, train, test, expect="bad", names=None, extra=()):
        paths = []
        for which, content in (("train", train), ("test", test)):
            if isinstance(content, bytes):
                path = os.path.join(folder, f"{len(cases):03d}_{which}.npy")
                open(path, "wb").write(content)
                paths.append(path)
            else:
                paths.append(content)  # a path as it is (missing, a folder)
        cases.append(Case(f"features: {name}", ["eval", "--data", g, "--knn-k", "5", "--features"] + paths + list(extra),
                          expect, names=names if names is not None else paths[0]))

    good_train, good_test = npy((96, 8)), npy((48, 8))
    case("float32", good_train, good_test, "ok")
    case("float64", npy((96, 3), descr="<f8"), npy((48, 3), descr="<f8"), "ok")
    case("one dimension", npy((96, 1)), npy((48, 1)), "ok")
    case("a row too few", npy((95, 8)), good_test, "bad2", names="95, 8")
    case("a row too many in the test set", good_train, npy((49, 8)), "bad2", names="49, 8")
    case("the sets' dimensions differ", good_train, npy((48, 9)), "bad2", names="dimensions")
    case("no dimension", npy((96, 0)), npy((48, 0)), "bad2", names="96, 0")
    case("a NaN", npy((96, 8), [float("nan")] + [0.5] * 767), good_test, "bad2", names="NaN")
    case("an infinity in the test set", good_train, npy((48, 8), [0.5] * 383 + [float("inf")]), "bad2", names="NaN")
    case("rank 1", npy((96,)), npy((48,)), "bad2", names="[96]")
    case("rank 3", npy((96, 2, 4)), good_test, "bad2", names="96, 2, 4")
    case("int32", npy((96, 8), descr="<i4"), good_test, "bad", names="<i4")
    case("big-endian", npy((96, 8), descr=">f4"), good_test, "bad", names="big-endian")
    case("Fortran order", npy((96, 8), fortran=True), good_test, "bad", names="Fortran")
    case("truncated", npy((96, 8), cut=5), good_test, "bad")
    case("only a header", npy((96, 8), cut=96 * 8 * 4), good_test, "bad")
    case("a huge shape", npy((1 << 40, 1 << 20), values=[]), good_test, "bad")
    case("a broken header", npy((96, 8), header="{'descr': '<f4', 'shape': (96, 8"), good_test, "bad")
    case("not an NPY file", b"hello, world\n" * 10, good_test, "bad")
    case("empty", b"", good_test, "bad")
    case("a folder", folder, os.path.join(folder, "x.npy"), "bad2", names="--features")
    case("missing", os.path.join(folder, "none.npy"), os.path.join(folder, "none2.npy"), "bad2", names="--features")
    case("with a checkpoint too", good_train, good_test, "bad2", names="exactly one", extra=["--checkpoint", __file__])
    case("with a baseline too", good_train, good_test, "bad2", names="exactly one", extra=["--baseline", "raw"])
    case("text", good_train, good_test, "bad2", names="text", extra=["--modality", "text"])
    return cases


def figure_cases(root, g, ckpt, base):
    """`plot` and `report` (a build with cairo): bad metrics logs, embeddings and labels, flags and results."""
    if subprocess.run([args.simile, "plot", "--help"], capture_output=True).returncode != 0:
        return []  # a build without cairo has no plot and report commands
    folder = os.path.join(root, "figures")
    os.makedirs(folder, exist_ok=True)
    out = os.path.join(folder, "out")
    metrics = os.path.join(folder, "good.jsonl")
    # Three steps, then the evaluation: the log holds step, representation and evaluation lines.
    r = subprocess.run([args.simile] + base[:-3] + ["--max-steps", "3", "--metrics", metrics, "--log-every", "1"],
                       capture_output=True, timeout=WORK_TIMEOUT)
    if r.returncode != 0:
        sys.exit(f"cannot make the good metrics log: {r.stderr.decode()}")
    step = '{"event":"step","step":1,"epoch":0,"loss":1,"lr":1,"seconds":1,"samples_per_second":1}\n'
    cases = []
    write = file_writer(folder)

    def plot(name, extra, expect="bad", names=None):
        cases.append(Case(f"plot: {name}", ["plot", "--out", out, "--threads", "1"] + extra, expect, names=names))

    for name, text in [("empty", ""), ("blank lines", "\n\n"), ("not JSON", "hello\n"), ("a JSON array", "[1, 2]\n"),
                       ("no event", '{"step": 1}\n'), ("an event that is a number", '{"event": 3}\n'),
                       ("a step without its loss", '{"event":"step","step":1}\n'),
                       ("a loss that is a string", step.replace('"loss":1', '"loss":"x"')),
                       ("a torn last line", step + step[:30]), ("only epochs", '{"event":"epoch","epoch":0,"mean_loss":1,"step":1}\n'),
                       ("binary", bytes(range(256)) * 4), ("invalid UTF-8", step.encode() + b'{"event":"\xff"}\n'),
                       ("a line of 1 MB", '{"event":"step","x":"' + "a" * (1 << 20) + '"}\n')]:
        path = write(text, ".jsonl")
        plot(f"metrics {name}", ["--metrics", path], names=path)
    plot("good metrics", ["--metrics", metrics, "--format", "both"], "ok")
    plot("metrics with a null loss", ["--metrics", write(step + step.replace('"loss":1', '"loss":null'), ".jsonl")], "ok")
    plot("metrics a folder", ["--metrics", folder], "bad2", names="--metrics")
    fifo = os.path.join(folder, "fifo.jsonl")
    os.mkfifo(fifo)
    plot("metrics a FIFO", ["--metrics", fifo], names=fifo)
    zero = os.path.join(folder, "zero.jsonl")
    os.symlink("/dev/zero", zero)
    plot("metrics /dev/zero", ["--metrics", zero], names=zero)
    plot("metrics missing", ["--metrics", os.path.join(folder, "none.jsonl")], "bad2", names="--metrics")

    good = write(npy((40, 6), [((i * 7) % 11) / 3 for i in range(240)]), ".npy")
    labels = write(npy((40,), [i % 4 for i in range(40)], descr="<i4"), ".npy")
    small = ["--tsne-points", "30", "--perplexity", "5", "--tsne-iterations", "50"]
    plot("good embeddings and labels", ["--embeddings", good, "--labels", labels] + small, "ok")
    plot("good embeddings, no labels", ["--embeddings", good, "--map", "pca", "--format", "svg"], "ok")
    plot("embeddings float64", ["--embeddings", write(npy((40, 3), descr="<f8"), ".npy"), "--map", "pca"], "ok")
    for name, content, names in [("rank 1", npy((40,)), "[40]"), ("one row", npy((1, 6)), "[1, 6]"),
                                 ("no dimension", npy((40, 0)), "[40, 0]"), ("int32", npy((40, 6), descr="<i4"), "<i4"),
                                 ("a NaN", npy((40, 6), [float("nan")] + [0.5] * 239), "NaN"),
                                 ("an infinity", npy((40, 6), [0.5] * 239 + [float("inf")]), "NaN"),
                                 ("big-endian", npy((40, 6), descr=">f4"), ">f4"),
                                 ("truncated", npy((40, 6), cut=7), None), ("not an NPY file", b"hello" * 50, None),
                                 ("empty", b"", None), ("a huge shape", npy((1 << 40, 1 << 20), values=[]), None),
                                 ("rank 3", npy((40, 2, 3)), "40, 2, 3")]:
        path = write(content, ".npy")
        plot(f"embeddings {name}", ["--embeddings", path, "--map", "pca"], names=names or path)
    for name, content, names in [("a label too few", npy((39,), [1] * 39, descr="<i4"), "39 labels"),
                                 ("float labels", npy((40,), [1.0] * 40), "<f4"),
                                 ("a negative label", npy((40,), [-1] + [1] * 39, descr="<i4"), "-1"),
                                 ("labels [N, 2]", npy((40, 2), [1] * 80, descr="<i4"), "[40, 2]"),
                                 ("labels past 65535", npy((40,), [70000] * 40, descr="<i4"), "70000"),
                                 ("labels not an NPY file", b"0 1 2 3\n", None)]:
        path = write(content, ".npy")
        plot(f"labels: {name}", ["--embeddings", good, "--labels", path, "--map", "pca"], names=names or path)
    plot("labels without embeddings", ["--labels", labels, "--metrics", metrics], "bad2", names="--labels")
    plot("embeddings and a checkpoint", ["--embeddings", good, "--checkpoint", ckpt], "bad2", names="--embeddings")
    plot("nothing to draw", [], "bad2", names="--metrics")
    plot("--map none without metrics", ["--embeddings", good, "--map", "none"], "bad2", names="--map")
    plot("a perplexity above the points", ["--embeddings", good, "--map", "tsne", "--perplexity", "40"], "bad2",
         names="--perplexity")
    plot("t-SNE points above memory", ["--embeddings", good, "--tsne-points", "1000000"], "bad2", names="--tsne-points")
    for opt, values in [("--format", ["gif", "", "PNG"]), ("--map", ["umap", ""]),
                        ("--tsne-points", ["3", "0", "-1", "x"]), ("--perplexity", ["0.5", "nan", "inf", "-3"]),
                        ("--tsne-iterations", ["0", "100001"]), ("--figure-width", ["199", "8001", "x"]),
                        ("--figure-height", ["149", "99999"]), ("--split", ["dev"])]:
        for v in values:
            plot(f"{opt}={v!r}", ["--metrics", metrics, opt, v], "bad2", names=opt)
    cases.append(Case("plot: --out a file", ["plot", "--metrics", metrics, "--out", metrics], "bad2", names="--out"))
    cases.append(Case("plot: --out in a missing folder", ["plot", "--metrics", metrics, "--out",
                                                          os.path.join(folder, "no", "such")], "bad2", names="--out"))
    cases.append(Case("plot: without --out", ["plot", "--metrics", metrics], "bad2", names="--out"))
    plot("a checkpoint's map", ["--data", g, "--checkpoint", ckpt, "--map", "pca"], "ok")

    def report(name, extra, expect="bad", names=None):
        cases.append(Case(f"report: {name}", ["report", "--data", g, "--threads", "1", "--checkpoint", ckpt,
                                              "--out", os.path.join(folder, f"r{len(cases)}.html")] + extra,
                          expect, names=names))

    report("good", ["--metrics", metrics] + small, "ok")
    # An evaluation (the probes over the 3x3 readout's 1,152 features, 9 s under ASan) and a map (12 s): 23 s
    # alone under ASan, past 30 with the suite's other jobs: as a case that must succeed, it gets WORK_TIMEOUT.
    report("good, evaluated now", ["--evaluate", "--knn-k", "5", "--map", "pca"], "ok")
    report("a result", ["--result", write('{"linear_probe_accuracy": 0.5, "knn_accuracy": null}', ".json"),
                        "--map", "none"], "ok")
    for name, text in [("not JSON", "{"), ("an array", "[1]"), ("a number", "3"), ("empty", ""), ("binary", bytes(range(256)))]:
        path = write(text, ".json")
        report(f"result {name}", ["--result", path, "--map", "none"], "bad2", names="--result")
    report("a bad metrics log", ["--metrics", write("nope\n", ".jsonl"), "--map", "none"])
    report("a perplexity above the test set", ["--map", "tsne", "--perplexity", "60"], "bad2", names="--perplexity")
    report("--grid-images 0", ["--grid-images", "0"], "bad2", names="--grid-images")
    report("--grid-views 33", ["--grid-views", "33"], "bad2", names="--grid-views")
    cases.append(Case("report: without --checkpoint", ["report", "--out", os.path.join(folder, "x.html")], "bad2",
                      names="--checkpoint"))
    cases.append(Case("report: --out in a missing folder", ["report", "--checkpoint", ckpt, "--out",
                                                            os.path.join(folder, "no", "x.html")], "bad2", names="--out"))
    cases.append(Case("report: --out a folder", ["report", "--checkpoint", ckpt, "--out", folder], "bad2", names="--out"))
    cases.append(Case("report: a checkpoint that is not one", ["report", "--checkpoint", metrics, "--out",
                                                               os.path.join(folder, "x.html")], "bad", names=metrics))
    return cases


def output_cases(root, g, base):
    """Outputs that cannot be written must leave the previous file, and no temporary file."""
    cases = []
    ck = os.path.join(root, "out", "previous.st")
    npy = os.path.join(root, "out", "previous.npy")
    os.makedirs(os.path.dirname(ck), exist_ok=True)
    previous_ck = open(os.path.join(root, "simclr.st"), "rb").read()
    previous_npy = b"\x93NUMPY previous file" * 10

    def prepare():
        # Each case restores its files first (cases run in sequence within this group).
        with open(ck, "wb") as f:
            f.write(previous_ck)
        with open(npy, "wb") as f:
            f.write(previous_npy)

    class Restoring(Case):
        pass

    cases += [
        Restoring("write failure: checkpoint past a 4 KB file size limit",
                  base + ["--checkpoint", ck, "--checkpoint-every", "1"], "bad", names=ck, keep={ck: previous_ck},
                  fsize=4096),
        Restoring("write failure: embed --out past a 2 KB file size limit",
                  ["embed", "--data", g, "--checkpoint", os.path.join(root, "simclr.st"), "--out", npy], "bad",
                  names=npy, keep={npy: previous_npy}, fsize=2048),
        Restoring("write failure: --export-embeddings past a 2 KB limit",
                  base + ["--export-embeddings", npy], "bad", names=npy, keep={npy: previous_npy}, fsize=2048),
        Restoring("a diverging run (--lr 1e38) keeps the last good checkpoint",
                  base[:-2] + ["--max-steps", "4", "--lr", "1e38", "--checkpoint", ck, "--checkpoint-every", "1"],
                  "bad", keep={}, check=None),
    ]
    for c in cases:
        c.prepare = prepare
    diverge = cases[-1]

    def still_good(_p):
        r = subprocess.run([args.simile, "eval", "--data", g, "--checkpoint", ck, "--knn-k", "5"],
                           capture_output=True, timeout=WORK_TIMEOUT)
        if r.returncode != 0:
            return "the checkpoint left by the diverged run does not load: " + r.stderr.decode().strip()[-300:]
        return None

    diverge.check = still_good
    return cases


def text_table_cases(rng, root):
    """Text files (sentences, pairs), CSV tables and their checkpoints, good and mutated."""
    cases = []
    os.makedirs(root, exist_ok=True)
    words = ["cat", "dog", "red", "big", "runs", "sees", "the", "a", "old", "fish"]
    sentences = "".join(" ".join(rng.choice(words) for _ in range(rng.randrange(2, 7))) + "\n" for _ in range(40))
    pairs = "".join(f"{rng.choice(words)} {rng.choice(words)}\t{rng.choice(words)} {rng.choice(words)}\n"
                    for _ in range(40))
    table = "a,b,c,label\n" + "".join(f"{i % 3 + rng.random():.3f},{rng.random():.3f},{i % 7},{i % 3}\n"
                                       for i in range(60))
    write = file_writer(root, "in")
    n = 0  # the mutated checkpoints' numbers

    small = ["--batch", "8", "--threads", "1", "--max-steps", "1", "--width", "16", "--heads", "2", "--layers", "1",
             "--knn-k", "3"]

    def text(name, content, expect="bad", names=None, suffix=".txt", extra=()):
        path = write(content, suffix)
        cases.append(Case(f"text: {name}", ["train", "--modality", "text", "--data", path] + small + list(extra), expect,
                          names=names if names is not None else path))

    def csv(name, content, expect="bad", names=None, extra=("--label-column", "last"), evaluate=False):
        path = write(content, ".csv")
        cases.append(Case(f"table: {name}", ["train", "--modality", "table", "--data", path] + small + list(extra) +
                          ([] if evaluate else ["--no-eval"]), expect, names=names if names is not None else path))

    text("good sentences", sentences, "ok")
    text("good pairs", pairs, "ok")
    text("good pairs as simcse", pairs, "ok", extra=["--method", "simcse"])
    text("sentences with a byte-order mark", "\ufeff" + sentences, "ok")
    text("sentences with CRLF line ends", sentences.replace("\n", "\r\n"), "ok")
    text("gzip sentences", gzip.compress(sentences.encode(), mtime=0), "ok", suffix=".txt.gz")
    text("sentences with NUL bytes", sentences.replace("a", "a\0"), "any")
    text("one line of 1 MB", "word " * 200000 + "\n" + sentences, "ok")
    text("sentences of punctuation and words", sentences + "...\n!!!\n", "ok")
    text("an empty file", "")
    text("blank lines only", "\n  \n\t\n")
    text("punctuation only", "...\n!!! ???\n" * 20)
    for label, bad in [("a lone 0xff", b"\xff"), ("an overlong slash", b"\xc0\xaf"), ("a surrogate", b"\xed\xa0\x80"),
                       ("a sequence cut short", b"\xe2\x82"), ("a code point past U+10FFFF", b"\xf4\x90\x80\x80"),
                       ("a stray continuation byte", b"\x80")]:
        text(f"invalid UTF-8: {label}", sentences.encode() + b"bad " + bad + b" text\n", names="line 41")
    text("pairs: a line of one column", pairs + "just one column\n", names="line 41")
    text("pairs: a line of three columns", pairs + "a\tb\tc\n", names="line 41")
    text("pairs: an empty column", pairs + "a\t \n", names="line 41")
    text("pairs method on sentences", sentences, "bad2", names="--method", extra=["--method", "pairs"])
    text("--limit above the sentences", sentences, "bad2", names="--limit", extra=["--limit", "41"])
    text("--batch above the pairs", pairs, "bad2", names="--batch", extra=["--batch", "41"])
    # Token-level views: every view may end up one token long, or empty for an empty text; none may crash.
    text("token views at their extremes", sentences + "...\n", "ok", extra=["--method", "simcse", "--token-drop", "1",
                                                                          "--token-crop", "0.001", "--token-swaps", "1000"])
    text("token views on pairs", pairs, "ok", extra=["--token-drop", "0.5", "--token-crop", "0.5", "--token-swaps", "2"])
    for flag, value in [("--token-drop", "1.5"), ("--token-drop", "-0.1"), ("--token-drop", "nan"), ("--token-crop", "0"),
                        ("--token-crop", "2"), ("--token-crop", "inf"), ("--token-swaps", "-1"), ("--token-swaps", "1e9"),
                        ("--token-swaps", "x")]:
        text(f"{flag} {value}", sentences, "bad2", names=flag, extra=[flag, value])
    text("gzip cut short", gzip.compress(sentences.encode(), mtime=0)[:30], suffix=".txt.gz")
    fifo = os.path.join(root, "fifo.txt")
    os.mkfifo(fifo)
    cases.append(Case("text: --data a fifo", ["train", "--modality", "text", "--data", fifo] + small, "bad", names=fifo))

    csv("good table", table, "ok")
    csv("good table without labels", table, "ok", extra=("--label-column", "none"))
    csv("good table without a header", table.split("\n", 1)[1], "ok", extra=("--label-column", "3"))
    csv("an empty file", "")
    csv("a header only", "a,b,c,label\n")
    csv("a row with a field too few", table + "1,2,0\n", names="line 62")
    csv("a row with a field too many", table + "1,2,3,4,0\n", names="line 62")
    csv("a field that is not a number", table + "1,x,3,0\n", names="line 62")
    csv("a NaN", table + "1,nan,3,0\n", names="line 62")
    csv("an infinite value", table + "1,1e999,3,0\n", names="line 62")
    csv("a label that is not an integer", table + "1,2,3,1.5\n", names="line 62")
    csv("a negative label", table + "1,2,3,-1\n", names="line 62")
    csv("only the label column", "label\n1\n2\n", names=None)
    csv("--label-column beyond the columns", table, "bad2", names="--label-column", extra=("--label-column", "4"))
    csv("--test-fraction leaving no training row", "a,label\n1,0\n2,1\n", names="--test-fraction")
    csv("--limit above the rows", table, "bad2", names="--limit", extra=("--label-column", "last", "--limit", "100"))
    csv("--knn-k above the rows", table, "bad2", names="--knn-k", extra=("--label-column", "last", "--knn-k", "1000"),
        evaluate=True)
    csv("good table, evaluated", table, "ok", evaluate=True)

    # Checkpoints of both, and mutations of their metadata.
    good_text, good_table = write(sentences, ".txt"), write(table, ".csv")
    ckpts = {}
    for kind, data, extra in [("text", good_text, []), ("table", good_table, ["--label-column", "last"])]:
        path = os.path.join(root, f"{kind}.st")
        r = subprocess.run([args.simile, "train", "--modality", kind, "--data", data] + small + extra +
                           ["--checkpoint", path], capture_output=True, timeout=WORK_TIMEOUT)
        if r.returncode != 0:
            sys.exit(f"cannot make the good {kind} checkpoint: {r.stderr.decode()}")
        ckpts[kind] = path

    def commands(kind, path):
        data, extra = (good_text, []) if kind == "text" else (good_table, ["--label-column", "last"])
        return {"embed": ["embed", "--data", data, "--checkpoint", path, "--out", path + ".npy"] + extra,
                "resume": ["train", "--modality", kind, "--data", data] + small + extra +
                          ["--no-eval", "--resume", path, "--checkpoint", path + ".out"],
                "eval": ["eval", "--data", data, "--checkpoint", path] + extra + ["--knn-k", "3"]}

    def mutated(kind, name, edit, expect="bad", names=None):
        nonlocal n
        n += 1
        header, data = read_safetensors(ckpts[kind])
        edit(header)
        path = os.path.join(root, f"ckpt{n:03d}.st")
        write_safetensors(path, header, data)
        for w, a in commands(kind, path).items():
            if kind == "table" or w != "eval":  # a text file of sentences has nothing to evaluate
                cases.append(Case(f"{kind} checkpoint ({w}): {name}", a, expect, names=names or path))

    def meta(kind, key, value, expect="bad", label=None):
        def edit(header):
            m = header["__metadata__"]
            if value is None:
                m.pop(key, None)
            else:
                m[key] = value(m[key]) if callable(value) else value
        mutated(kind, f"metadata {key} = {label or repr(value)[:60]}", edit, expect)

    meta("text", "tokenizer", lambda t: t, "ok", label="unchanged")
    meta("table", "features", lambda t: t, "ok", label="unchanged")
    for label, value in [("empty", ""), ("the header alone", "simile-bpe 1\n"),
                         ("version 9", "simile-bpe 9\nalphabet 0\nmerges 0\nend\n"), ("NUL bytes", "\x00" * 100),
                         ("cut in half", lambda t: t[: len(t) // 2]), ("without its end line", lambda t: t.replace("end\n", "")),
                         ("junk after the end", lambda t: t + "junk\n"),
                         ("an alphabet count too large", lambda t: t.replace("alphabet ", "alphabet 9")),
                         ("a merge count too large", lambda t: t.replace("merges ", "merges 9")),
                         ("an upper-case character", lambda t: t.replace("\nt\n", "\nT\n", 1)),
                         ("a character twice", lambda t: t.replace("\nt\n", "\ne\n", 1)), ("missing", None)]:
        meta("text", "tokenizer", value, label=label)
    for key, value in [("modality", "video"), ("modality", "image"), ("modality", "table"), ("modality", None),
                       ("width", "0"), ("width", "x"), ("heads", "3"), ("heads", None), ("layers", "65"),
                       ("vocab", "-1"), ("max_length", "99999"), ("test_fraction", "1"), ("test_fraction", "nan"),
                       ("seed", "-1"), ("method", "scarf"), ("encoder", "tabular"), ("encoder", "bag")]:
        meta("text", key, value)
    for key, value in [("features", "0"), ("features", "4"), ("features", "99999999999"), ("width", "16x"),
                       ("modality", "text"), ("method", "simcse"), ("layers", "3")]:
        meta("table", key, value)

    # The dropout layers' random streams a text checkpoint carries for an exact resume: embed does not need
    # them, a resume refuses a checkpoint without them or with another shape.
    def rebuilt(kind, name, tensors_edit, expect):
        nonlocal n
        n += 1
        header, data = read_safetensors(ckpts[kind])
        tensors = {k: (v, data[v["data_offsets"][0]:v["data_offsets"][1]]) for k, v in header.items()
                   if k != "__metadata__"}
        tensors_edit(tensors)
        out, blob = {"__metadata__": header["__metadata__"]}, b""
        for k, (v, b) in tensors.items():
            out[k] = {"dtype": v["dtype"], "shape": v["shape"], "data_offsets": [len(blob), len(blob) + len(b)]}
            blob += b
        path = os.path.join(root, f"ckpt{n:03d}.st")
        write_safetensors(path, out, blob)
        for w, a in commands(kind, path).items():
            if w != "eval":
                cases.append(Case(f"{kind} checkpoint ({w}): {name}", a, expect[w], names=path))

    stream = next(k for k in read_safetensors(ckpts["text"])[0] if k.startswith("train.rng."))
    rebuilt("text", f"{stream} missing", lambda t: t.pop(stream), {"embed": "ok", "resume": "bad"})
    rebuilt("text", f"{stream} of shape [1]", lambda t: t.update({stream: ({**t[stream][0], "shape": [1]}, t[stream][1][:8])}),
            {"embed": "ok", "resume": "bad"})
    return cases


def png(w, h, pixels, color=0):
    """An 8-bit PNG (color 0: gray, 2: RGB) of `pixels`, rows without their filter byte."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    stride = len(pixels) // h
    raw = b"".join(b"\0" + pixels[y * stride:(y + 1) * stride] for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def image_folder_cases(rng, root):
    """Folders of PNG images as --data: good layouts, bad folders and bad images, and the options that go
    with them (--bad-images, --image-fit, --image-cache)."""
    cases = []
    n = 0

    def image(size=8):
        return png(size, size, bytes(rng.randrange(256) for _ in range(size * size)))

    def folder(files):
        """files: {relative path: bytes, or None for a folder}."""
        nonlocal n
        n += 1
        path = os.path.join(root, f"images{n:03d}")
        os.makedirs(path, exist_ok=True)
        for rel, content in files.items():
            target = os.path.join(path, rel)
            if content is None:
                os.makedirs(target, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as f:
                f.write(content)
        return path

    labeled = {f"{c}/{i:02d}.png": image(6 + i % 5) for c in ("cat", "dog") for i in range(12)}
    small = ["--batch", "16", "--threads", "1", "--max-steps", "1", "--knn-k", "3"]

    def case(name, files, expect="bad", names=None, extra=(), evaluate=False, path=None):
        data = path or folder(files)
        cases.append(Case(f"image folder: {name}", ["train", "--data", data] + small + list(extra) +
                          ([] if evaluate else ["--no-eval"]), expect, names=names if names is not None else data))
        return data

    good = case("labeled, evaluated", labeled, "ok", evaluate=True)
    case("labeled, cropped", None, "ok", extra=["--image-fit", "crop"], path=good)
    case("labeled, cache elsewhere", None, "ok", extra=["--image-cache", root], path=good)
    case("labeled, no cache", None, "ok", extra=["--image-cache", "none"], path=good)
    case("unlabeled", {f"{i:02d}.png": image() for i in range(20)}, "ok")
    case("unlabeled, evaluated", {f"{i:02d}.png": image() for i in range(20)}, "ok", evaluate=True)
    case("train/ and test/", {**{"train/" + k: v for k, v in labeled.items()},
                              **{"test/" + k: v for k, v in list(labeled.items())[::3]}}, "ok", evaluate=True)
    case("train/ and test/ with other classes", {**{"train/" + k: v for k, v in labeled.items()},
                                                 "test/bird/0.png": image()}, names="test/")
    case("empty folder", {}, names="no PNG or JPEG")
    case("only other files", {"notes.txt": b"hello", ".hidden.png": image()}, names="no PNG or JPEG")
    case("an empty class folder", {**labeled, "eel": None}, names="eel")
    case("images beside class folders", {**labeled, "stray.png": image()}, names="stray.png")
    corrupt = {**labeled, "dog/99.png": b"\x89PNG\r\n\x1a\nnot really"}
    case("a corrupt image", corrupt, names="dog/99.png")
    case("a corrupt image, skipped", corrupt, "ok", extra=["--bad-images", "skip"])
    good_png = image(9)
    for k in [0, 8, 20, 33, len(good_png) // 2, len(good_png) - 12, len(good_png) - 1]:
        case(f"an image truncated to {k} of {len(good_png)} bytes", {**labeled, "cat/cut.png": good_png[:k]},
             names="cat/cut.png")
    for i in range(6):
        b = bytearray(good_png)
        b[rng.randrange(8, len(b))] ^= 1 << rng.randrange(8)
        case(f"an image with a bit flip #{i}", {**labeled, "cat/flip.png": bytes(b)}, names="cat/flip.png")
    case("a JPEG signature and junk", {**labeled, "cat/j.jpg": b"\xff\xd8\xff" + bytes(100)}, names="cat/j.jpg")
    huge = bytearray(good_png)  # the IHDR of a 2^30 x 2^30 image, its CRC mended
    huge[16:24] = struct.pack(">II", 1 << 30, 1 << 30)
    huge[29:33] = struct.pack(">I", zlib.crc32(bytes(huge[12:29])))
    case("a PNG claiming 2^30 x 2^30 pixels", {**labeled, "cat/huge.png": bytes(huge)}, names="cat/huge.png")
    wide = bytearray(huge)  # 2^24 x 2^6: within libpng's limits, above simile's 2^26 pixels
    wide[16:24] = struct.pack(">II", 1 << 24, 1 << 6)
    wide[29:33] = struct.pack(">I", zlib.crc32(bytes(wide[12:29])))
    case("a PNG claiming 2^24 x 64 pixels", {**labeled, "cat/wide.png": bytes(wide)}, names="cat/wide.png")
    case("every image corrupt, skipped", {f"{i}.png": b"junk" for i in range(20)}, extra=["--bad-images", "skip"],
         names="none of the 20 images")
    fifo_dir = folder(labeled)
    os.mkfifo(os.path.join(fifo_dir, "cat", "fifo.png"))
    case("a FIFO named .png (not a regular file: ignored, never opened)", None, "ok", path=fifo_dir)
    dangling_dir = folder(labeled)
    os.symlink(os.path.join(dangling_dir, "nothing.png"), os.path.join(dangling_dir, "dog", "gone.png"))
    case("a dangling link named .png (not an image file: ignored)", None, "ok", path=dangling_dir)
    damaged = folder(labeled)
    subprocess.run([args.simile, "train", "--data", damaged] + small + ["--no-eval"], capture_output=True,
                   timeout=WORK_TIMEOUT)
    for cache in [f for f in os.listdir(damaged) if f.startswith(".simile-cache-")]:
        with open(os.path.join(damaged, cache), "r+b") as f:
            f.truncate(100)
    case("a damaged cache (decoded again)", None, "ok", path=damaged)
    for flag, value in [("--bad-images", "maybe"), ("--bad-images", ""), ("--image-fit", "stretch"),
                        ("--image-cache", os.path.join(root, "no-such-folder"))]:
        case(f"{flag} {value!r}", None, "bad2", names=flag, extra=[flag, value], path=good)
    return cases


def main():
    global args

    def options(ap):
        ap.add_argument("--jobs", type=int, default=2, help="cases run at once")
        ap.add_argument("--verbose", action="store_true", help="print every case")
        ap.add_argument("--sample", type=float, default=1.0,
                        help="fraction of the cases to run, drawn per family with --seed (default: all)")

    args, rng, root = arguments(__doc__, options)
    if not 0 < args.sample <= 1:
        sys.exit(f"attack_cli.py: --sample must be in (0, 1], got {args.sample}")
    chooser = random.Random(args.seed + 3)

    def sample(family):
        """A seeded fraction --sample of one family of cases (at least one), in their original order."""
        if args.sample >= 1:
            return family
        keep = sorted(chooser.sample(range(len(family)), max(1, round(args.sample * len(family)))))
        return [family[i] for i in keep]

    g = os.path.join(root, "good")
    good_files = tiny_fashion(rng, 96, 48)
    write_dataset(g, good_files)

    def base_train(method="simclr"):
        return ["train", "--data", g, "--method", method, "--batch", "16", "--threads", "1", "--knn-k", "5",
                "--queue-size", "32", "--max-steps", "1", "--no-eval"]

    ckpts = {}
    for method in ["simclr", "moco"]:
        path = os.path.join(root, f"{method}.st")
        r = subprocess.run([args.simile] + base_train(method)[:-3] + ["--max-steps", "2", "--no-eval",
                                                                      "--checkpoint", path],
                           capture_output=True, timeout=WORK_TIMEOUT)
        if r.returncode != 0:
            sys.exit(f"cannot make the good {method} checkpoint: {r.stderr.decode()}")
        ckpts[method] = path
        json.dump(list(read_safetensors(path)[0]), open(path + ".keys", "w"))

    cases = sample(flag_cases(g, base_train(), ckpts["simclr"]))
    cases += sample(data_cases(rng, root, good_files,
                               lambda folder: ["eval", "--data", folder, "--baseline", "raw", "--knn-k", "5"]))
    # The same files through `train` (which reads only what it trains on, then the test set to evaluate).
    train_data = data_cases(random.Random(args.seed + 1), os.path.join(root, "t"), good_files,
                            lambda folder: base_train()[:2] + [folder] + base_train()[3:-1])
    cases += sample(train_data[::3])
    cases += sample(checkpoint_cases(rng, root, g, ckpts, base_train))
    cases += sample(text_table_cases(random.Random(args.seed + 2), os.path.join(root, "text")))
    cases += sample(image_folder_cases(random.Random(args.seed + 4), os.path.join(root, "images")))
    cases += sample(feature_cases(root, g))
    cases += sample(figure_cases(root, g, ckpts["simclr"], base_train()))
    outputs = output_cases(root, g, base_train())

    failures = {}
    done = 0

    def record(case, result):
        nonlocal done
        done += 1
        kind, detail = result
        if kind:
            failures.setdefault(kind, []).append((case.name, detail))
            print(f"FAIL [{kind}] {case.name}: {detail}", flush=True)
        elif args.verbose:
            print(f"ok   {case.name}", flush=True)

    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for case, result in zip(cases, pool.map(lambda c: run_case(args.simile, c), cases)):
            record(case, result)
    for case in outputs:  # in sequence: they share their files
        case.prepare()
        record(case, run_case(args.simile, case))

    total = len(cases) + len(outputs)
    sampled = f" (a {args.sample:g} sample, seed {args.seed})" if args.sample < 1 else ""
    print(f"{total} cases{sampled}: {total - sum(len(v) for v in failures.values())} as expected" +
          "".join(f", {len(v)} {k}" for k, v in sorted(failures.items())))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
