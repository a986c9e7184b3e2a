"""The daemon's interpreter settings: how its garbage collector runs.

CPython's collector scans every container object it tracks when it runs a full collection.
A running daemon keeps hundreds of thousands of them from start-up (SQLAlchemy's mappers and
compiled caches, the config, the classifier, pydantic models) that never become garbage, and
a cold cycle allocates millions of short-lived ones (every item and classification read
from a worker), so collections were frequent and each full one walked everything.
``settle_gc`` freezes what start-up built, so the collector no longer walks it, and raises
the thresholds for the short-lived objects (docs/performance.md has the figures).
"""

from __future__ import annotations

import gc

# Young objects are collected every 10,000 net allocations instead of 700; the older
# generations ten times less often each (the default). Reference counting frees nearly
# everything anyway; the collector is only for cycles.
GC_THRESHOLDS = (10_000, 10, 10)


def settle_gc() -> int:
    """Once what the process keeps is loaded (and again after a config reload): collect,
    move every surviving object to the permanent generation, which collections never scan,
    and raise the thresholds. Returns how many objects are now permanent.

    Objects frozen earlier are thawed and collected with the rest first: after a reload, the
    old pipeline and classifier are garbage, and frozen garbage in a cycle would never go."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    return gc.get_freeze_count()
