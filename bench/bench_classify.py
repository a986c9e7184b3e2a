"""Benchmark: items classified per second on one core.

    .venv/bin/python bench/bench_classify.py [--seconds 3]

Runs four item sets through the shipped watchlist and through a synthetic watchlist ten
times larger (every actor and term group copied nine more times with made-up aliases),
prints a table and writes bench/results/classify.json:

* ``dev-all``        -- the labelled dev set (en/ru/be, nearly all about Belarus and the US),
* ``dev-irrelevant`` -- its items labelled irrelevant,
* ``feeds``          -- title+summary of every item of the real feeds corpus
                        (``$MONITOR_FEEDS_CORPUS``): what a news stream mostly is, irrelevant,
* ``mix``            -- the feeds items with the dev set spread among them (~4% on topic),
* ``articles``       -- whole articles (title, lead and 350-520 words of content): the
                        full-length development set, where the reading of leads, bodies and
                        the time of each clause happens (``$MONITOR_DEV_LONG``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.classify import Classifier, load_watchlists
from monitor.classify.watchlist import Watchlist
from monitor.model import ItemText

WATCHLIST = ROOT / "config" / "watchlists" / "belarus-us.yaml"
DEV = Path(os.environ.get("MONITOR_DEV_SET", str(ROOT.parent / "shared" / "eval" / "dev.jsonl")))
DEV_LONG = Path(os.environ.get("MONITOR_DEV_LONG",
                               str(ROOT.parent / "shared" / "eval" / "dev-long.jsonl")))
FEEDS = Path(os.environ.get("MONITOR_FEEDS_CORPUS", str(ROOT.parent / "shared" / "feeds-corpus")))
NOW = datetime(2026, 8, 15, 12, tzinfo=UTC)
FALLBACK = [
    ("Trump says he spoke with Lukashenko about prisoners",
     ("President Donald Trump said on Friday he had held a phone conversation with Belarusian "
     "President Alexander Lukashenko. They discussed the release of further prisoners.")),
    ("Минфин США ввёл санкции против сотрудников КГБ Беларуси",
     "Министерство финансов США внесло в санкционный список трёх сотрудников белорусского КГБ."),
    ("Амбасада ЗША ў Мінску адновіць працу ў сакавіку",
     "Дзяржаўны дэпартамент ЗША абвясціў, што амерыканская амбасада ў Мінску ўзновіць дзейнасць."),
    ("Local council approves new park", "The city council voted to build a park downtown."),
]


def load_items(only_irrelevant: bool = False) -> list[ItemText]:
    items: list[ItemText] = []
    if DEV.exists():
        for line in DEV.read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            if only_irrelevant and d.get("relevant"):
                continue
            pub = datetime.fromisoformat(d["published"])
            items.append(ItemText(d["id"], d["title"], d.get("summary", ""), "", pub,
                                  d.get("language")))
    else:
        items = [ItemText(str(i), t, s) for i, (t, s) in enumerate(FALLBACK)]
    return items


def article_items() -> list[ItemText]:
    """Whole articles of the full-length development set (or of eval/dev-extra.jsonl)."""
    path = DEV_LONG if DEV_LONG.exists() else ROOT / "eval" / "dev-extra.jsonl"
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        if d.get("content"):
            out.append(ItemText(d["id"], d["title"], d.get("summary", ""), d["content"],
                                datetime.fromisoformat(d["published"]), d.get("language")))
    return out


def feed_items(limit: int = 6000, with_content: bool = False) -> list[ItemText]:
    """Items of the real feeds corpus, parsed as the pipeline parses them."""
    from monitor.errors import ParseError
    from monitor.parse import parse_feed

    out: list[ItemText] = []
    if not FEEDS.is_dir():
        return out
    for p in sorted(FEEDS.iterdir()):
        if p.suffix in (".md", ".tsv") or p.name.startswith(".") or p.name == "SHA256SUMS":
            continue
        try:
            feed = parse_feed(p.read_bytes(), url=f"https://example.org/{p.name}", headers={},
                              now=NOW)
        except ParseError:    # the corpus has unusable bodies on purpose (HTML page, 0 bytes)
            continue
        for k, it in enumerate(feed.items):
            out.append(ItemText(f"{p.name}#{k}", it.title, it.summary,
                                it.content if with_content else "", it.published, it.language))
            if len(out) >= limit:
                return out
    return out


def mixed(feeds: list[ItemText], dev: list[ItemText]) -> list[ItemText]:
    """The dev items spread evenly among the feed items."""
    if not feeds or not dev:
        return feeds or dev
    out: list[ItemText] = []
    step = max(1, len(feeds) // len(dev))
    for i, it in enumerate(feeds):
        out.append(it)
        if i % step == 0 and i // step < len(dev):
            out.append(dev[i // step])
    return out


def synthetic(wl: Watchlist, factor: int = 10) -> Watchlist:
    """The watchlist with every actor alias and term word copied ``factor - 1`` more times
    under made-up spellings (so the automaton holds ~factor times the patterns)."""
    data = wl.model_dump(by_alias=True)
    actors = list(data["actors"])
    for k in range(1, factor):
        for a in data["actors"]:
            b = dict(a)
            b["id"] = f"{a['id']}_x{k}"
            b["aliases"] = [f"{al.rstrip('*')}zq{k}" for al in a["aliases"]]
            actors.append(b)
    data["actors"] = actors
    terms = {}
    for g, words in data["terms"].items():
        terms[g] = list(words) + [f"{w.rstrip('*').lstrip('=')}qz{k}"
                                  for k in range(1, factor) for w in words]
    data["terms"] = terms
    return Watchlist.model_validate(data)


def _round(clf: Classifier, items: list[ItemText], seconds: float) -> tuple[int, float]:
    """Items classified over at least ``seconds`` of this process's CPU time, and that time."""
    n = 0
    start = time.process_time()
    while True:
        for it in items:
            clf.classify(it)
        n += len(items)
        elapsed = time.process_time() - start
        if elapsed >= seconds:
            return n, elapsed


def measure(clf: Classifier, items: list[ItemText], seconds: float) -> tuple[float, int]:
    """Items per CPU-second of this process (CPU time, not wall time: the rate per core
    should not depend on what else the machine runs); best of three rounds, and the items
    classified in all."""
    for it in items:                       # warm the stem cache, as a long-running daemon has
        clf.classify(it)
    rounds = [_round(clf, items, seconds / 3) for _ in range(3)]
    return max(n / elapsed for n, elapsed in rounds), sum(n for n, _ in rounds)


def compare(clfs: list[Classifier], items: list[ItemText], seconds: float,
            rounds: int = 6) -> tuple[list[float], list[float]]:
    """Every classifier's best rate, and each one's time ratio to the first: the median of
    the ratios of rounds run back to back (in alternating order), so a machine whose speed
    drifts between rounds moves both sides of each ratio alike."""
    for clf in clfs:
        for it in items:                   # warm the stem caches, as a long-running daemon has
            clf.classify(it)
    rates: list[list[float]] = [[] for _ in clfs]
    for r in range(rounds):
        order = list(range(len(clfs)))
        for i in order if r % 2 == 0 else order[::-1]:
            n, elapsed = _round(clfs[i], items, seconds / rounds)
            rates[i].append(n / elapsed)
    ratios = [statistics.median(base / other for base, other in zip(rates[0], rs, strict=True))
              for rs in rates]
    return [max(rs) for rs in rates], ratios


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0, help="CPU seconds per set and list")
    args = ap.parse_args()
    items = load_items()
    feeds = feed_items()
    sets = {"dev-all": items, "dev-irrelevant": load_items(only_irrelevant=True) or items,
            "feeds": feeds or items, "mix": mixed(feeds, items), "articles": article_items()}
    base = load_watchlists([WATCHLIST])[0]
    lists = (("shipped", base), ("synthetic-10x", synthetic(base)))
    clfs, compile_s = [], []
    for _label, wl in lists:
        t0 = time.perf_counter()
        clfs.append(Classifier([wl]))
        compile_s.append(time.perf_counter() - t0)
    rows = []
    for set_name, its in sets.items():
        rates, ratios = compare(clfs, its, args.seconds)
        for (label, _wl), clf, c_s, rate, ratio in zip(lists, clfs, compile_s, rates, ratios,
                                                       strict=True):
            rows.append({"watchlist": label, "items_set": set_name,
                         "patterns": clf.matcher.size, "compile_seconds": round(c_s, 3),
                         "items_per_second": round(rate), "time_ratio": round(ratio, 2)})
    print(f"{'watchlist':16} {'items':16} {'patterns':>9} {'compile s':>10} {'items/s/core':>13}"
          f" {'time ÷ shipped':>15}")
    for r in sorted(rows, key=lambda r: (r["watchlist"] != "shipped", r["watchlist"])):
        print(f"{r['watchlist']:16} {r['items_set']:16} {r['patterns']:9} "
              f"{r['compile_seconds']:10.3f} {r['items_per_second']:13} {r['time_ratio']:15.2f}")
    out = ROOT / "bench" / "results" / "classify.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "python": platform.python_version(), "machine": platform.machine(),
        "item_set": str(DEV) if DEV.exists() else "builtin", "n_items": len(items),
        "articles": str(DEV_LONG) if DEV_LONG.exists() else "eval/dev-extra.jsonl",
        "feeds_corpus": str(FEEDS), "n_feed_items": len(feeds),
        "n_items_per_set": {k: len(v) for k, v in sets.items()},
        "results": rows}, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
