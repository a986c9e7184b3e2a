"""A pytest plugin that records every call the tests make to ``Classifier.classify``, for
``check_classify_equivalence.py --test-calls``.

    PYTHONPATH=bench .venv/bin/python -m pytest -n 0 -p record_plugin tests/test_classify*.py

Writes ``$CLASSIFY_TEST_CALLS`` (default ``/tmp/clfsnap/test_calls.pkl``): a list of
``(watchlists as JSON, item, now, watchlist)`` tuples. Run without xdist workers (``-n 0``):
each worker would record into its own process.
"""

from __future__ import annotations

import os
import pickle
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.classify import Classifier
from monitor.model import ItemText

OUT = Path(os.environ.get("CLASSIFY_TEST_CALLS", "/tmp/clfsnap/test_calls.pkl"))
CALLS: list[tuple[tuple[str, ...], ItemText, datetime | None, str | None]] = []


def pytest_configure(config: pytest.Config) -> None:
    original = Classifier.classify

    def recording(self: Classifier, item: ItemText, now: datetime | None = None,
                  watchlist: str | None = None, explain: bool = False) -> Any:
        key = getattr(self, "_recorded_key", None)
        if key is None:
            key = tuple(w.model_dump_json(by_alias=True) for w in self.watchlists)
            self._recorded_key = key        # type: ignore[attr-defined]
        CALLS.append((key, item, now, watchlist))
        return original(self, item, now, watchlist, explain)

    Classifier.classify = recording         # type: ignore[method-assign]


def pytest_unconfigure(config: pytest.Config) -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("wb") as fh:
        pickle.dump(CALLS, fh)
    print(f"\nrecorded {len(CALLS)} classifier calls to {OUT}")
