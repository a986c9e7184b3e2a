"""When to poll a feed next, given what the last poll produced. Pure: ``now`` and ``rng`` are
arguments, nothing is read from globals.

    success (2xx or 304)        -> now + interval (+- jitter), failures reset
    410 Gone                    -> disabled, with the reason
    429/503 with Retry-After    -> now + max(retry_after, interval), capped at max_backoff
    any other failure           -> exponential backoff, failures + 1; unhealthy after
                                   ``unhealthy_after`` in a row, then a slow (max_backoff)
                                   retry so the feed recovers by itself
    local outage (every fetch   -> the failure is ours, not the feed's: failures unchanged,
    of a cycle failed to connect)  retry after the interval
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from monitor.model import FetchResult

if TYPE_CHECKING:
    from monitor.config import ScheduleConfig

_LOCAL_KINDS = frozenset({"connect", "timeout"})


@dataclass(frozen=True)
class PollPolicy:
    """Tunables of the poll schedule (seconds). The defaults are ``schedule``'s in the config."""

    base_backoff: float = 60.0
    max_backoff: float = 86400.0           # the slow daily retry of an unhealthy feed
    unhealthy_after: int = 5               # consecutive failures
    jitter: float = 0.1                    # +- fraction of the delay
    force_unconditional_every: float = 6 * 3600.0
    min_local_outage_cycle: int = 3        # fetches in a cycle before blaming ourselves

    @classmethod
    def from_schedule(cls, schedule: ScheduleConfig) -> PollPolicy:
        """The policy a config's ``schedule`` section sets."""
        return cls(max_backoff=schedule.max_backoff, unhealthy_after=schedule.unhealthy_after,
                   jitter=schedule.jitter,
                   force_unconditional_every=schedule.force_unconditional_every)


@dataclass(frozen=True)
class PollDecision:
    """What to store for the feed after a poll."""

    next_check_at: datetime
    failures: int
    unhealthy: bool
    disable: bool
    disable_reason: str | None
    keep_validators: bool                 # keep ETag/Last-Modified for the next request


def _jittered(delay: float, policy: PollPolicy, rng: random.Random) -> float:
    spread = delay * policy.jitter
    return max(0.0, delay + rng.uniform(-spread, spread))


def decide_next_poll(*, now: datetime, interval: float, failures: int, result: FetchResult,
                     rng: random.Random, policy: PollPolicy = PollPolicy(),
                     local_outage: bool = False) -> PollDecision:
    """The next poll time and health of a feed after ``result``. Raises nothing."""
    interval = max(1.0, interval)
    if result.ok or result.not_modified:
        return PollDecision(now + timedelta(seconds=_jittered(interval, policy, rng)), 0,
                            False, False, None, True)
    if local_outage:
        # Our network is down: the feed did nothing wrong, so keep its count as it was.
        return PollDecision(now + timedelta(seconds=_jittered(interval, policy, rng)), failures,
                            failures >= policy.unhealthy_after, False, None, True)
    if result.status == 410:
        reason = f"410 Gone at {result.final_url}: the publisher removed the feed"
        return PollDecision(now + timedelta(seconds=policy.max_backoff), failures + 1, True,
                            True, reason, False)
    count = failures + 1
    unhealthy = count >= policy.unhealthy_after
    if result.status in (429, 503) and result.retry_after is not None:
        # The server told us when; obey it exactly (no jitter below its floor).
        delay = min(policy.max_backoff, max(result.retry_after, interval))
        return PollDecision(now + timedelta(seconds=delay), count, unhealthy, False, None, True)
    if unhealthy:
        delay = min(policy.max_backoff, _jittered(policy.max_backoff, policy, rng))
    else:
        backoff = policy.base_backoff * 2.0 ** min(failures, 40)
        delay = min(policy.max_backoff,
                    _jittered(min(policy.max_backoff, max(interval, backoff)), policy, rng))
    # The validators still describe the last good body: keep them through failures.
    return PollDecision(now + timedelta(seconds=delay), count, unhealthy, False, None, True)


def is_local_outage(results: Sequence[FetchResult],
                    policy: PollPolicy = PollPolicy()) -> bool:
    """True when every fetch of a cycle (at least three) failed to connect or timed out."""
    return len(results) >= policy.min_local_outage_cycle and all(
        r.error_kind in _LOCAL_KINDS for r in results)


def should_fetch_unconditionally(last_unconditional_at: datetime | None, now: datetime,
                                 policy: PollPolicy = PollPolicy()) -> bool:
    """True when it is time to drop the validators once (servers with stuck ETags)."""
    if last_unconditional_at is None:
        return True
    return (now - last_unconditional_at).total_seconds() >= policy.force_unconditional_every
