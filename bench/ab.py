"""A/B of the pipeline's cycles: two (or more) revisions, same farm, runs interleaved.

    .venv/bin/python bench/ab.py [--reps 3] [--cycles 1] [--db sqlite] [--feeds 1000] REV REV...
    .venv/bin/python bench/ab.py --steady 304|unchanged [--reps 3] REV REV...

A REV is a git revision (checked out into a temporary worktree) or ``.`` (the working tree,
uncommitted changes included). Each rep runs every revision's bench/cycles.py once against one
nginx farm rebuilt before each run, in alternating order (A B, B A, ...), so a machine whose
speed drifts within minutes (these VMs do, by up to 25%) favours neither side. Prints each run
and the medians: wall seconds and CPU seconds of the cold cycle, peak PSS, and the feeds/s of
any further cycle (``--cycles 3``: unchanged and 304 too).

``--steady KIND`` measures only steady cycles, which a single cycle per run measures badly:
one SQLite file is populated once (bench/steady.py), and each run polls a copy of it five
times after two warm-ups, with each revision's own ``monitor``; prints each run's medians,
the median of those per revision, and how many alternating pairs each side won.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cycles import bench_config_data
from bench.farm import Farm, Nginx
from bench.run import drive_cycles


def checkout(rev: str, into: Path) -> Path:
    if rev == ".":
        return ROOT
    path = into / rev.replace("/", "_")
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(path), rev],
                   check=True)
    return path


def one_run(tree: Path, farm: Farm, urls: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """bench/cycles.py of ``tree`` (its own monitor package, in its workers too)."""
    argv = [sys.executable, str(tree / "bench" / "cycles.py"), "--db", args.db, "--urls",
            str(urls), "--cycles", str(args.cycles), "--workers", args.workers]
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = [r for r in drive_cycles(farm, argv, cwd=tree, env=env) if r.get("event") != "ready"]
    if not out:
        raise SystemExit(f"{tree}: bench/cycles.py gave no result")
    return out


def steady(trees: dict[str, Path], farm: Farm, urls: Path, work: Path,
           args: argparse.Namespace) -> None:
    """``--steady``: alternating runs of bench/steady.py, one revision's code each."""
    base = work / "steady.db"
    config = work / "steady-config.json"        # bench/cycles.py's, for every revision
    config.write_text(json.dumps(bench_config_data(urls.read_text().split(), "sqlite://")))
    touch = ["--touch", str(farm.root / "feeds")] if args.steady == "unchanged" else []

    def one(tree: Path) -> dict[str, Any]:
        argv = [sys.executable, str(ROOT / "bench" / "steady.py"), "--base", str(base),
                "--config", str(config), *touch]
        done = subprocess.run(argv, env=dict(os.environ, PYTHONPATH=str(tree)), cwd=tree,
                              check=False, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"{tree}: bench/steady.py failed:\n{done.stderr[-3000:]}")
        return dict(json.loads(done.stdout.splitlines()[-1]))

    one(ROOT)                                       # populates the base
    runs: dict[str, list[float]] = {rev: [] for rev in args.revs}
    for rep in range(args.reps):
        for rev in args.revs if rep % 2 == 0 else args.revs[::-1]:
            r = one(trees[rev])
            runs[rev].append(r["seconds"])
            print(f"{rev:12} {args.steady} {r['seconds']:.3f} s ({r['feeds'] / r['seconds']:.0f}"
                  f" feeds/s), CPU {r['cpu_seconds']:.3f} s", flush=True)
    print("\nmedians:")
    first = args.revs[0]
    for rev, secs in runs.items():
        med = statistics.median(secs)
        wins = "" if rev == first else (
            f", faster than {first} in {sum(b < a for a, b in zip(runs[first], secs))}"
            f" of {len(secs)} pairs")
        print(f"{rev:12} {args.steady} {med:.3f} s ({args.feeds / med:.0f} feeds/s){wins}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("revs", nargs="+", help="git revisions, or . for the working tree")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--cycles", type=int, default=1, help="1: cold; 3: cold, unchanged, 304")
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--workers", default="auto", help="schedule.parse_workers")
    ap.add_argument("--steady", choices=("304", "unchanged"),
                    help="only steady cycles of this kind, on copies of one populated SQLite file")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="monitor-ab-"))
    trees = {rev: checkout(rev, work) for rev in args.revs}
    farm = Farm(work / "farm", args.feeds, 30)
    farm.build()
    nginx = Nginx(farm)
    nginx.start()
    urls = work / "urls.txt"
    urls.write_text("\n".join(farm.url(i) for i in range(args.feeds)) + "\n")
    runs: dict[str, list[list[dict[str, Any]]]] = {rev: [] for rev in args.revs}
    try:
        if args.steady:
            steady(trees, farm, urls, work, args)
            return
        for rep in range(args.reps):
            for rev in args.revs if rep % 2 == 0 else args.revs[::-1]:
                farm.build()
                out = one_run(trees[rev], farm, urls, args)
                runs[rev].append(out)
                cold = out[0]
                rest = " ".join(f"{c['kind']} {c['feeds'] / c['seconds']:.0f} feeds/s"
                                for c in out[1:])
                print(f"{rev:12} cold {cold['seconds']:6.2f} s "
                      f"{cold['feeds'] / cold['seconds']:5.0f} feeds/s, "
                      f"CPU {cold['cpu_seconds']:5.2f} s (daemon {cold['cpu_main_seconds']:5.2f}), "
                      f"peak {cold['tree_peak_pss_mb']:.0f} MB, {cold['items_new']} new, "
                      f"{cold['failed']} failed  {rest}", flush=True)
    finally:
        nginx.stop()
        for rev, tree in trees.items():
            if tree != ROOT:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                                str(tree)], check=False)
    print("\nmedians:")
    for rev, outs in runs.items():
        med = {k: statistics.median(o[0][k] for o in outs)
               for k in ("seconds", "cpu_seconds", "cpu_main_seconds")}
        later = {c["kind"]: statistics.median(o[i]["feeds"] / o[i]["seconds"] for o in outs)
                 for i, c in enumerate(outs[0]) if i}
        print(f"{rev:12} cold {med['seconds']:.2f} s, CPU {med['cpu_seconds']:.2f} s "
              f"(daemon {med['cpu_main_seconds']:.2f}), peak "
              f"{max(o[0]['tree_peak_pss_mb'] for o in outs):.0f} MB"
              + "".join(f", {k} {v:.0f} feeds/s" for k, v in later.items()))


if __name__ == "__main__":
    main()
