"""The labelled sets in eval/: well-formed, and the held-out set exactly as it was frozen."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

EVAL = Path(__file__).resolve().parents[1] / "eval"
HELDOUT_SHA256 = "5bed83e3538299b4e8d328d44b3025d410c7436f445ab166cfdf8e4b61bfbc7f"
TYPES = {"relations_restored", "relations_downgraded", "ambassador_named",
         "ambassador_confirmed", "ambassador_arrived", "ambassador_expelled",
         "embassy_reopened", "embassy_closed", "diplomat_cap_changed", "sanctions_imposed",
         "sanctions_lifted", "prisoners_released", "high_level_contact"}


def rows(name: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in (EVAL / name).read_text(encoding="utf-8").splitlines()
            if line.strip()]


def test_the_held_out_set_is_frozen() -> None:
    """It is scored once at the end of a piece of work, never edited or tuned on: any change
    to it is a new held-out set (see eval/README.md)."""
    digest = hashlib.sha256((EVAL / "heldout.jsonl").read_bytes()).hexdigest()
    assert digest == HELDOUT_SHA256


def test_the_held_out_set_covers_what_it_must() -> None:
    data = rows("heldout.jsonl")
    assert len(data) >= 150
    assert sum(1 for r in data if r.get("content")) * 2 >= len(data)
    assert {r["language"] for r in data} == {"en", "ru", "be"}
    positives = Counter(t for r in data for t in r["milestones"])  # type: ignore[attr-defined]
    assert set(positives) == TYPES
    assert min(positives.values()) >= 5


@pytest.mark.parametrize("name", ["heldout.jsonl", "dev-extra.jsonl", "dev-short.jsonl"])
def test_labelled_sets_are_well_formed(name: str) -> None:
    data = rows(name)
    ids = [r["id"] for r in data]
    assert len(ids) == len(set(ids))
    for r in data:
        assert {"id", "title", "published", "relevant", "milestones"} <= set(r), r["id"]
        got = set(r["milestones"]) | set(r.get("also_ok", []))  # type: ignore[arg-type]
        assert got <= TYPES, r["id"]
        assert r["relevant"] or not r["milestones"], r["id"]
