"""The labelled dev set: regressions below the targets fail CI."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from monitor.classify import Classifier, load_watchlists
from monitor.evaluate import evaluate, format_report
from monitor.model import ItemText

REPO = Path(__file__).resolve().parents[1]
WATCHLIST = REPO / "config" / "watchlists" / "belarus-us.yaml"
DEV = next((p for p in (REPO / "tests" / "data" / "eval" / "dev.jsonl",
                        REPO.parent / "shared" / "eval" / "dev.jsonl") if p.exists()), None)


@pytest.mark.skipif(DEV is None, reason="dev set not available")
def test_dev_set_meets_targets() -> None:
    assert DEV is not None
    gold = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    clf = Classifier(load_watchlists([WATCHLIST]))
    preds = []
    for g in gold:
        pub = g.get("published")
        when = datetime.fromisoformat(pub) if pub else None
        preds.append(clf.classify(ItemText(g["id"], g["title"], g.get("summary", ""),
                                           g.get("content", ""), when, g.get("language"))))
    report = evaluate(gold, preds)
    text = format_report(report)
    assert report.micro.f1 >= 0.90, text
    assert report.relevance.f1 >= 0.95, text
    for t, s in report.per_type.items():
        assert s.f1 >= 0.75, f"{t}\n{text}"
