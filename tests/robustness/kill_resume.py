#!/usr/bin/env python3
"""A run killed at any moment and restarted with `--resume` ends with the same weights, bit for bit.

For each method (images: simclr, moco, byol; text: simcse, whose dropout streams the checkpoint carries;
a table: scarf): an uninterrupted reference run, then the same command line plus `--resume`, started
again and again and killed with SIGKILL (half the kills at random moments, half aimed at the moment a
temporary file shows a checkpoint or the log being written) until a start runs to the end. The final checkpoint must equal the reference byte for byte, no temporary
file may be left beside it, and the metrics log must hold each step's line once. Then SIGINT and SIGTERM:
the run saves its checkpoint and exits with 128 + the signal, and resuming it ends at the reference too.

Usage: kill_resume.py --simile PATH --work DIR [--seed S] [--kills N]
"""

import json
import os
import signal
import subprocess
import sys
import time

from common import arguments, tiny_fashion, write_dataset

TIMEOUT = 120


def command(simile, data, method, ckpt, metrics, steps):
    # 6 batches an epoch: the runs cross several epoch boundaries. A checkpoint after every step.
    # `data`: {method: [--data and the options of its modality]}, the images' folder for the others.
    return [simile, "train", "--method", method, "--batch", "16", "--threads", "1",
            "--queue-size", "32", "--max-steps", str(steps), "--no-eval", "--seed", "7", "--log-every", "1",
            "--checkpoint", ckpt, "--checkpoint-every", "1", "--metrics", metrics] + data[method]


def text_and_table(rng, root):
    """A file of 96 sentences and a CSV of 96 labeled rows: 6 batches of 16 an epoch, as the images."""
    words = ["cat", "dog", "red", "big", "runs", "sees", "the", "a", "old", "fish", "blue", "jumps"]
    sentences, table = os.path.join(root, "sentences.txt"), os.path.join(root, "table.csv")
    with open(sentences, "w") as f:
        f.writelines(" ".join(rng.choice(words) for _ in range(rng.randrange(2, 9))) + "\n" for _ in range(96))
    with open(table, "w") as f:
        f.write("a,b,c,d,label\n")
        f.writelines(f"{i % 3 + rng.random():.4f},{rng.random():.4f},{rng.random():.4f},{i % 5},{i % 3}\n" for i in range(96))
    return {"simcse": ["--data", sentences, "--width", "32", "--heads", "2", "--layers", "1", "--vocab", "200"],
            "scarf": ["--data", table, "--label-column", "last", "--test-fraction", "0.01", "--width", "32"]}


def metrics_steps(path):
    steps = []
    with open(path) as f:
        for line in f:
            j = json.loads(line)  # a torn line fails here
            if j["event"] == "step":
                steps.append(j["step"])
    return steps


def check_clean(folder, problems, what):
    stray = [f for f in os.listdir(folder) if ".tmp-" in f]
    if stray:
        problems.append(f"{what}: temporary files left: {stray}")


def main():
    args, rng, root = arguments(__doc__, lambda ap: ap.add_argument("--kills", type=int, default=12,
                                                                   help="SIGKILLs per method"))
    images = os.path.join(root, "data")
    write_dataset(images, tiny_fashion(rng, 96, 32))
    data = {method: ["--data", images] for method in ["simclr", "moco", "byol"]}
    data.update(text_and_table(rng, root))
    steps = 40
    problems = []

    for method in data:
        folder = os.path.join(root, method)
        os.makedirs(folder)
        ref, ref_metrics = os.path.join(folder, "reference.st"), os.path.join(folder, "reference.jsonl")
        t0 = time.monotonic()
        r = subprocess.run(command(args.simile, data, method, ref, ref_metrics, steps), capture_output=True,
                           timeout=TIMEOUT)
        run_seconds = time.monotonic() - t0
        if r.returncode != 0:
            sys.exit(f"{method}: the reference run failed: {r.stderr.decode()[-500:]}")
        reference = open(ref, "rb").read()

        # SIGKILL at random moments within a run's length, then a last start that runs to the end.
        ckpt, metrics = os.path.join(folder, "run.st"), os.path.join(folder, "run.jsonl")
        cmd = command(args.simile, data, method, ckpt, metrics, steps) + ["--resume", ckpt]
        kills, starts, mid_write = 0, 0, 0
        while True:
            starts += 1
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if kills < args.kills:
                if kills % 2 == 0:
                    # Up to a fifth of a whole run: most kills land before the run ends, at start-up or
                    # mid-step, a few mid-write (a checkpoint is written after every step).
                    time.sleep(rng.uniform(0.0, run_seconds * 0.2))
                else:
                    # Aimed: as soon as a temporary file shows that a checkpoint or the log is being written.
                    deadline = time.monotonic() + run_seconds
                    while p.poll() is None and time.monotonic() < deadline and \
                            not any(".tmp-" in f for f in os.listdir(folder)):
                        pass
                if p.poll() is None:
                    p.kill()
                    p.wait()
                    kills += 1
                    # A temporary file left behind: the kill landed while a checkpoint or the log was written.
                    mid_write += any(".tmp-" in f for f in os.listdir(folder))
            _, err = p.communicate(timeout=TIMEOUT)
            if p.returncode == 0:
                break
            if p.returncode != -signal.SIGKILL:
                problems.append(f"{method}: start {starts} failed with status {p.returncode}: {err.decode()[-400:]}")
                break
            if starts > 4 * args.kills:
                problems.append(f"{method}: no start ran to the end")
                break
        if open(ckpt, "rb").read() != reference:
            problems.append(f"{method}: after {kills} SIGKILLs the final checkpoint differs from the reference")
        check_clean(folder, problems, f"{method} after SIGKILLs")
        if kills and not mid_write:
            problems.append(f"{method}: none of the {kills} kills landed mid-write (the aimed kills missed)")
        try:
            logged = metrics_steps(metrics)
            # Steps after the last checkpoint are done again after a kill: the log drops them on resume.
            if logged != list(range(1, steps + 1)):
                problems.append(f"{method}: the metrics log holds steps {logged}, expected 1..{steps} once each")
        except (ValueError, KeyError) as e:
            problems.append(f"{method}: the metrics log has a torn or bad line: {e}")
        print(f"{method}: reference run {run_seconds:.2f}s; {kills} SIGKILLs ({mid_write} mid-write) over {starts} "
              f"starts, final checkpoint "
              f"{'equal to' if open(ckpt, 'rb').read() == reference else 'DIFFERENT from'} the reference", flush=True)

        # SIGINT / SIGTERM: save, exit with 128 + signal, resume to the same end.
        for sig in (signal.SIGINT, signal.SIGTERM):
            ck = os.path.join(folder, f"{sig.name}.st")
            m = os.path.join(folder, f"{sig.name}.jsonl")
            c = command(args.simile, data, method, ck, m, steps) + ["--resume", ck]
            p = subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            # Wait for the first checkpoint (training is under way), then signal.
            deadline = time.monotonic() + TIMEOUT
            while not os.path.exists(ck) and p.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            p.send_signal(sig)
            _, err = p.communicate(timeout=TIMEOUT)
            text = err.decode()
            if p.returncode == 0:
                print(f"{method}: the run ended before {sig.name} arrived; not counted", flush=True)
            elif p.returncode != 128 + sig or "interrupted" not in text:
                problems.append(f"{method}: after {sig.name} status {p.returncode} (expected {128 + sig}): {text[-300:]}")
            r = subprocess.run(c, capture_output=True, timeout=TIMEOUT)
            if r.returncode != 0:
                problems.append(f"{method}: resuming after {sig.name} failed: {r.stderr.decode()[-300:]}")
            elif open(ck, "rb").read() != reference:
                problems.append(f"{method}: resumed after {sig.name}, the final checkpoint differs from the reference")
            check_clean(folder, problems, f"{method} after {sig.name}")

    for p in problems:
        print("FAIL", p)
    print(f"{len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
