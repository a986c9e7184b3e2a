"""policy.py: the next poll after success, failures, 410, Retry-After and local outages."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.model import FetchResult
from monitor.policy import (
    PollPolicy,
    decide_next_poll,
    is_local_outage,
    should_fetch_unconditionally,
)

NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)
URL = "https://x.org/f"
OK = FetchResult(url=URL, final_url=URL, status=200, body=b"<rss/>")
NOT_MODIFIED = FetchResult(url=URL, final_url=URL, status=304)
GONE = FetchResult(url=URL, final_url=URL, status=410, error="HTTP 410 Gone", error_kind="http")
SERVER_ERROR = FetchResult(url=URL, final_url=URL, status=500, error="HTTP 500",
                           error_kind="http")
TIMEOUT = FetchResult(url=URL, final_url=URL, status=None, error="slow", error_kind="timeout")
REFUSED = FetchResult(url=URL, final_url=URL, status=None, error="refused", error_kind="connect")


def delay(decision_at: datetime) -> float:
    return (decision_at - NOW).total_seconds()


@pytest.mark.parametrize("result", [OK, NOT_MODIFIED], ids=["200", "304"])
def test_success_resets_failures_and_jitters_the_interval(result: FetchResult) -> None:
    rng = random.Random(1)
    d = decide_next_poll(now=NOW, interval=900, failures=3, result=result, rng=rng)
    assert d.failures == 0 and not d.unhealthy and not d.disable and d.keep_validators
    assert 810 <= delay(d.next_check_at) <= 990


def test_jitter_is_deterministic_for_a_seeded_rng() -> None:
    a = decide_next_poll(now=NOW, interval=900, failures=0, result=OK, rng=random.Random(7))
    b = decide_next_poll(now=NOW, interval=900, failures=0, result=OK, rng=random.Random(7))
    assert a == b


def test_410_disables_with_a_reason() -> None:
    d = decide_next_poll(now=NOW, interval=900, failures=0, result=GONE, rng=random.Random(1))
    assert d.disable and d.disable_reason and "410" in d.disable_reason


@pytest.mark.parametrize(("status", "retry_after", "expected"),
                         [(429, 3600.0, 3600.0), (503, 10.0, 900.0), (429, 10**7, 86400.0)],
                         ids=["429-long", "503-short-uses-interval", "capped"])
def test_retry_after(status: int, retry_after: float, expected: float) -> None:
    result = FetchResult(url=URL, final_url=URL, status=status, error="busy",
                         error_kind="http", retry_after=retry_after)
    d = decide_next_poll(now=NOW, interval=900, failures=0, result=result,
                         rng=random.Random(1))
    assert delay(d.next_check_at) == expected and d.failures == 1 and not d.disable


def test_exponential_backoff_then_unhealthy_then_slow_retry() -> None:
    policy = PollPolicy(base_backoff=60, max_backoff=86400, unhealthy_after=5, jitter=0.0)
    failures, delays, states = 0, [], []
    for _ in range(7):
        d = decide_next_poll(now=NOW, interval=30, failures=failures, result=SERVER_ERROR,
                             rng=random.Random(1), policy=policy)
        failures = d.failures
        delays.append(delay(d.next_check_at))
        states.append(d.unhealthy)
        assert not d.disable
    assert delays[:4] == [60, 120, 240, 480]
    assert delays[4:] == [86400, 86400, 86400]       # still retried, daily
    assert states == [False] * 4 + [True] * 3
    assert failures == 7


def test_backoff_never_below_interval_and_capped() -> None:
    policy = PollPolicy(jitter=0.0, unhealthy_after=100)
    d = decide_next_poll(now=NOW, interval=3600, failures=0, result=TIMEOUT,
                         rng=random.Random(1), policy=policy)
    assert delay(d.next_check_at) == 3600
    d = decide_next_poll(now=NOW, interval=60, failures=30, result=TIMEOUT,
                         rng=random.Random(1), policy=policy)
    assert delay(d.next_check_at) == 86400


def test_recovery_after_unhealthy() -> None:
    d = decide_next_poll(now=NOW, interval=900, failures=9, result=OK, rng=random.Random(1))
    assert d.failures == 0 and not d.unhealthy


def test_local_outage_does_not_count() -> None:
    d = decide_next_poll(now=NOW, interval=900, failures=2, result=REFUSED,
                         rng=random.Random(1), local_outage=True)
    assert d.failures == 2 and not d.unhealthy and 810 <= delay(d.next_check_at) <= 990


def test_is_local_outage() -> None:
    assert is_local_outage([REFUSED, TIMEOUT, REFUSED])
    assert not is_local_outage([REFUSED, TIMEOUT])                 # too few to tell
    assert not is_local_outage([REFUSED, TIMEOUT, OK])
    assert not is_local_outage([REFUSED, TIMEOUT, SERVER_ERROR])
    assert not is_local_outage([])


def test_should_fetch_unconditionally() -> None:
    policy = PollPolicy(force_unconditional_every=6 * 3600)
    assert should_fetch_unconditionally(None, NOW, policy)
    assert not should_fetch_unconditionally(NOW - timedelta(hours=5), NOW, policy)
    assert should_fetch_unconditionally(NOW - timedelta(hours=6), NOW, policy)


def test_policy_module_is_pure() -> None:
    import monitor.policy as policy_module
    source = Path(policy_module.__file__).read_text(encoding="utf-8")
    for banned in ("httpx", "sqlalchemy", "datetime.now", "time.time", "random.random("):
        assert banned not in source
