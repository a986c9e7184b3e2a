"""The daemon's process: how its garbage collector runs, its crash points for the crash test,
and who holds a lease (``owner_id``).

CPython's collector scans every container object it tracks when it runs a full collection.
A running daemon keeps many of them from start-up (SQLAlchemy's mappers and compiled
caches, the config, the classifier, pydantic models) that never become garbage, and a cold
cycle allocates many more short-lived ones (every item and classification read from a
worker), so collections were frequent and each full one walked everything.
``settle_gc`` freezes what start-up built, so the collector no longer walks it, and raises
the thresholds for the short-lived objects (docs/performance.md has the figures).
"""

from __future__ import annotations

import gc
import os
import socket
import sys
import time

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


# -- crash points ------------------------------------------------------------------------------

# Points inside a unit of work where the process stops when its name is listed in the
# environment variable MONITOR_CRASH_AT (comma-separated): the crash test kills it there,
# mid-transaction, instead of at a random moment. Read once; empty in production.
CRASH_AT = frozenset(filter(None, os.environ.get("MONITOR_CRASH_AT", "").split(",")))
CRASH_POINTS = ("store", "milestone", "deliver")


def crash_point(name: str) -> None:
    """Stop here, forever, when ``name`` is in MONITOR_CRASH_AT, after saying so on stderr
    (``crash_point <name>``): the transaction in hand is neither committed nor rolled back
    until the process is killed."""
    if name in CRASH_AT:
        sys.stderr.write(f"crash_point {name}\n")
        sys.stderr.flush()
        while True:
            time.sleep(3600)


# -- who holds a lease ---------------------------------------------------------------------

def owner_id() -> str:
    """Who holds a lease: this host and process, ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def dead_local_owner(owner: str) -> bool:
    """Whether ``owner`` (an ``owner_id``) is a process of this host that no longer runs (a
    crash, a SIGKILL). Another host's processes cannot be seen: never dead here."""
    host, _, pid = owner.rpartition(":")
    return host == socket.gethostname() and pid.isdigit() and not _pid_alive(int(pid))


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
