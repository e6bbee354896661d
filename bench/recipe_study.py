#!/usr/bin/env python3
"""Runs the recipe study of issue 13 (docs/RECIPES.md): `simile train` once per configuration and seed, each
run's JSON result appended to a JSON-lines file with its command, and a Markdown table of every run recorded.

    bench/recipe_study.py run --simile build/release/bin/simile --out study.jsonl --seeds 0 1 \\
        --common "--method simclr --max-steps 1200 --threads 2" \\
        "baseline=" "t0.2=--temperature 0.2" "lr2e-3=--temperature 0.2 --lr 2e-3"
    bench/recipe_study.py table study.jsonl

A configuration is NAME=ARGS (ARGS split as a shell would). Runs already in the file (same name, seed and
command) are skipped, so an interrupted study resumes. Fixed-step runs give the same figures whatever the
machine's load; budget runs (--budget-seconds) do not, and should run on a quiet machine.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import time

FIELDS = [("linear_probe_accuracy", "probe"), ("knn_accuracy", "kNN"), ("linear_probe_1pct", "1 %"),
          ("linear_probe_10pct", "10 %")]


def load(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def run(args):
    done = {(r["name"], r["seed"], r["command"]) for r in load(args.out)}
    env = dict(os.environ, OMP_WAIT_POLICY="passive")
    for config in args.configs:
        name, _, extra = config.partition("=")
        for seed in args.seeds:
            argv = [args.simile, "train", *shlex.split(args.common), *shlex.split(extra), "--seed", str(seed),
                    "--quiet"]
            command = " ".join(shlex.quote(a) for a in argv[1:])
            if (name, seed, command) in done:
                print(f"skip {name} seed {seed}: already in {args.out}", file=sys.stderr)
                continue
            print(f"run {name} seed {seed}: simile {command}", file=sys.stderr, flush=True)
            t0 = time.time()
            p = subprocess.run(argv, capture_output=True, text=True, env=env)
            if p.returncode != 0:
                print(p.stderr, file=sys.stderr)
                sys.exit(f"{name} seed {seed} failed with exit code {p.returncode}")
            result = json.loads(p.stdout.strip().splitlines()[-1])
            record = {"name": name, "seed": seed, "command": command, "wall_seconds": round(time.time() - t0, 1),
                      "result": result}
            with open(args.out, "a") as f:
                f.write(json.dumps(record) + "\n")
            print(f"  {name} seed {seed}: " + ", ".join(f"{label} {result.get(k, float('nan')):.4f}"
                                                         for k, label in FIELDS), file=sys.stderr, flush=True)


def table(args):
    print("| change | seed | steps | seconds | final loss | " + " | ".join(l for _, l in FIELDS) + " | command |")
    print("| --- | --- | --- | --- | --- | " + " | ".join("---" for _ in FIELDS) + " | --- |")
    for r in load(args.file):
        res = r["result"]
        cells = [r["name"], str(r["seed"]), str(res.get("steps", "")), f"{res.get('seconds', 0):.0f}",
                 f"{res.get('final_loss', float('nan')):.4f}"]
        cells += [f"{res.get(k, float('nan')):.4f}" for k, _ in FIELDS]
        cells.append("`simile " + r["command"] + "`")
        print("| " + " | ".join(cells) + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    r = sub.add_parser("run", help="run configurations, append results")
    r.add_argument("--simile", required=True, help="the simile tool")
    r.add_argument("--out", required=True, help="JSON-lines file the results are appended to")
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    r.add_argument("--common", default="--method simclr --max-steps 1200 --threads 2",
                   help="arguments every run gets")
    r.add_argument("configs", nargs="+", help="NAME=ARGS")
    t = sub.add_parser("table", help="print a Markdown table of a results file")
    t.add_argument("file")
    args = parser.parse_args()
    run(args) if args.what == "run" else table(args)


if __name__ == "__main__":
    main()
