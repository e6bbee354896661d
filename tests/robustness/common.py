"""What the robustness scripts share: a tiny Fashion-MNIST-shaped data set in IDX files, and their command line."""

import argparse
import os
import random
import shutil
import struct


def idx(magic_type, dims, payload):
    """An IDX file: magic (type, rank), big-endian dimensions, payload."""
    return struct.pack(">I", (magic_type << 8) | len(dims)) + b"".join(struct.pack(">I", d) for d in dims) + payload


def idx_images(rng, n, h=28, w=28):
    return idx(0x08, [n, h, w], bytes(rng.randrange(256) for _ in range(n * h * w)))


def idx_labels(n, classes=10):
    return idx(0x08, [n], bytes(i % classes for i in range(n)))


NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def tiny_fashion(rng, train_n, test_n):
    """The four files of a data set of random images and labels 0..9, by NAMES key."""
    return {"train_images": idx_images(rng, train_n), "train_labels": idx_labels(train_n),
            "test_images": idx_images(rng, test_n), "test_labels": idx_labels(test_n)}


def write_dataset(folder, files):
    """Writes files by NAMES key; a value (suffix, bytes) adds a suffix such as ".gz" to the name."""
    os.makedirs(folder, exist_ok=True)
    for key, content in files.items():
        name = NAMES[key]
        if isinstance(content, tuple):
            name += content[0]
            content = content[1]
        with open(os.path.join(folder, name), "wb") as f:
            f.write(content)


def arguments(doc, add_options=lambda ap: None):
    """Parses --simile, --work, --seed (and what add_options adds); empties the work folder.
    Returns (args, seeded random.Random, absolute work folder)."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--simile", required=True, help="the simile tool to test")
    ap.add_argument("--work", required=True, help="scratch folder (emptied first)")
    ap.add_argument("--seed", type=int, default=0)
    add_options(ap)
    args = ap.parse_args()
    root = os.path.abspath(args.work)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    return args, random.Random(args.seed), root
