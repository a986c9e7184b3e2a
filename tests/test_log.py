"""Logging (monitor.log): our events and third-party stdlib records, one JSON line each."""

from __future__ import annotations

import io
import json
import logging

from monitor.log import get_logger, setup_logging


def _lines(buf: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buf.getvalue().splitlines()]


def test_our_events_and_foreign_records_share_one_json_format() -> None:
    buf = io.StringIO()
    setup_logging("info", "json", buf)
    log = get_logger("monitor.test")
    log.debug("below_the_level")
    log.info("feed_polled", feed="wire", new=2)
    try:
        raise ValueError("bad body")
    except ValueError as exc:
        log.error("feed_processing_failed", feed="wire", error=str(exc), exc_info=exc)
    log.log(logging.WARNING, "alert_retry", channel="ops")
    logging.getLogger("httpx").warning("pool %s", "full")
    logging.getLogger("httpx").info("chatter stays below warning")
    polled, failed, retry, foreign = _lines(buf)
    assert polled["event"] == "feed_polled" and polled["level"] == "info"
    assert polled["feed"] == "wire" and polled["new"] == 2
    assert str(polled["timestamp"]).endswith("Z")
    assert failed["level"] == "error" and "ValueError: bad body" in str(failed["exception"])
    assert retry["level"] == "warning" and retry["channel"] == "ops"
    assert foreign == {"event": "pool full", "level": "warning",
                       "timestamp": foreign["timestamp"]}


def test_a_second_setup_takes_effect_for_loggers_already_used() -> None:
    log = get_logger("monitor.test")
    first, second = io.StringIO(), io.StringIO()
    setup_logging("info", "json", first)
    log.info("one")
    setup_logging("debug", "json", second)
    log.debug("two")
    assert [e["event"] for e in _lines(first)] == ["one"]
    assert [e["event"] for e in _lines(second)] == ["two"]
