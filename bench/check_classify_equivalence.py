"""Check that the classifier's output has not changed: byte-identical, item for item.

    .venv/bin/python bench/check_classify_equivalence.py --save   # record the reference
    .venv/bin/python bench/check_classify_equivalence.py          # compare against it

The snapshot (inputs and outputs) lives outside git, in ``$CLASSIFY_SNAPSHOT`` (default
``/tmp/clfsnap/snapshot.pkl``). Inputs: every dev-set line (as ``monitor classify`` reads it,
also with an explicit ``watchlist`` and with ``now`` instead of ``published``), every call
the classifier tests made (recorded by ``bench/record_plugin.py``, read from
``--test-calls``), items of the real feeds corpus (title+summary and with content),
dev titles and summaries recombined, and the dev set through the 10x synthetic watchlist
and a two-watchlist classifier. Output: ``Classification.to_json()`` plus the fields it
leaves out (principals, severity, title, versions), as one JSON line per case.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_classify import feed_items, synthetic

from monitor.classify import Classifier, load_watchlists
from monitor.classify.watchlist import Watchlist
from monitor.model import Classification, ItemText

WATCHLIST = ROOT / "config" / "watchlists" / "belarus-us.yaml"
DEV = Path(os.environ.get("MONITOR_DEV_SET", str(ROOT.parent / "shared" / "eval" / "dev.jsonl")))
SNAPSHOT = Path(os.environ.get("CLASSIFY_SNAPSHOT", "/tmp/clfsnap/snapshot.pkl"))
NOW = datetime(2026, 8, 15, 12, tzinfo=UTC)

Case = tuple[str, tuple[str, ...], ItemText, datetime | None, str | None]


def dev_items() -> list[ItemText]:
    out = []
    for line in DEV.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        d = json.loads(line)
        pub = d.get("published")
        when = datetime.fromisoformat(pub) if pub else None
        out.append(ItemText(str(d["id"]), d.get("title") or "", d.get("summary") or "",
                            d.get("content") or "", when, d.get("language")))
    return out


def build_cases(test_calls: Path | None) -> tuple[list[Case], dict[str, str]]:
    shipped = load_watchlists([WATCHLIST])[0]
    big = synthetic(shipped)
    big2 = Watchlist.model_validate({**big.model_dump(by_alias=True), "name": "belarus-us-10x"})
    wls = {"shipped": shipped, "10x": big, "10x-renamed": big2}
    dumps = {k: w.model_dump_json(by_alias=True) for k, w in wls.items()}
    cases: list[Case] = []
    dev = dev_items()
    for it in dev:
        cases.append(("dev", ("shipped",), it, None, None))
        cases.append(("dev-wl", ("shipped",), it, None, "belarus-us"))
        cases.append(("dev-now", ("shipped",), ItemText(it.id, it.title, it.summary, it.content,
                                                        None, it.language), NOW, None))
        cases.append(("dev-10x", ("10x",), it, None, None))
        cases.append(("dev-two", ("shipped", "10x-renamed"), it, None, None))
    rng = random.Random(20260815)
    for k in range(1500):
        a, b = rng.choice(dev), rng.choice(dev)
        when = a.published + timedelta(days=rng.randint(-400, 400)) if a.published else None
        summary = b.summary if k % 3 else f"{b.summary} {a.summary}"
        cases.append(("cross", ("shipped",),
                      ItemText(f"x{k}", a.title, summary, "", when, rng.choice(
                          [None, a.language, b.language])), None, None))
    for it in feed_items(with_content=True):
        ts = ItemText(it.id, it.title, it.summary, "", it.published, it.language)
        cases.append(("feeds", ("shipped",), ts, None, None))
        cases.append(("feeds-content", ("shipped",), it, NOW, None))
    if test_calls is not None:
        with test_calls.open("rb") as fh:
            calls = pickle.load(fh)
        for key, item, now, watchlist in calls:
            names = []
            for js in key:
                name = next((n for n, d in dumps.items() if d == js), None)
                if name is None:
                    name = f"test{len(dumps)}"
                    dumps[name] = js
                names.append(name)
            cases.append(("tests", tuple(names), item, now, watchlist))
    return cases, dumps


def render(c: Classification) -> str:
    d: dict[str, Any] = c.to_json()
    d["versions"] = c.versions
    d["extra"] = [[m.principals, m.severity, m.title, m.confidence] for m in c.milestones]
    return json.dumps(d, ensure_ascii=False, sort_keys=True)


def run(cases: list[Case], dumps: dict[str, str]) -> list[str]:
    wls = {k: Watchlist.model_validate_json(v) for k, v in dumps.items()}
    classifiers: dict[tuple[str, ...], Classifier] = {}
    out = []
    for _group, names, item, now, watchlist in cases:
        clf = classifiers.get(names)
        if clf is None:
            clf = classifiers[names] = Classifier([wls[n] for n in names])
        out.append(render(clf.classify(item, now, watchlist)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--save", action="store_true", help="record the reference snapshot")
    ap.add_argument("--test-calls", type=Path, default=Path("/tmp/clfsnap/test_calls.pkl"))
    args = ap.parse_args()
    if args.save:
        cases, dumps = build_cases(args.test_calls if args.test_calls.exists() else None)
        outputs = run(cases, dumps)
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        with SNAPSHOT.open("wb") as fh:
            pickle.dump({"cases": cases, "dumps": dumps, "outputs": outputs}, fh)
        print(f"saved {len(outputs)} outputs to {SNAPSHOT}")
        return 0
    with SNAPSHOT.open("rb") as fh:
        snap = pickle.load(fh)
    outputs = run(snap["cases"], snap["dumps"])
    groups: dict[str, list[int]] = {}
    bad = 0
    for (group, *_), old, new in zip(snap["cases"], snap["outputs"], outputs, strict=True):
        g = groups.setdefault(group, [0, 0])
        g[0] += 1
        if old != new:
            g[1] += 1
            bad += 1
            if bad <= 5:
                print(f"DIFF [{group}]\n  old {old}\n  new {new}")
    for group, (n, diff) in groups.items():
        print(f"{group:14} {n:6} cases {diff:4} differ")
    relevant = sum('"relevant": true' in o for o in snap["outputs"])
    print(f"{'OK' if not bad else 'FAILED'}: {len(outputs)} cases, {relevant} relevant, "
          f"{bad} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
