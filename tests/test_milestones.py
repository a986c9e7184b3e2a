"""Milestone decisions: pure values in, decisions out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.milestones import Candidate, channel_wants, decide, is_stale
from monitor.model import MilestoneHit

T0 = datetime(2020, 12, 15, 18, 0, tzinfo=UTC)
WINDOW = timedelta(days=14)


def hit(type_: str = "ambassador_confirmed", principals: tuple[str, ...] = (),
        status: str = "completed") -> MilestoneHit:
    return MilestoneHit(type=type_, watchlist="belarus-us", status=status, confidence=0.9,
                        evidence="e", principals=principals)


def test_first_report_opens_a_milestone_with_a_stable_id() -> None:
    a = decide(hit(principals=("fisher",)), event_at=T0, window=WINDOW, candidates=[],
               item_ident="1:x")
    b = decide(hit(principals=("fisher",)), event_at=T0, window=WINDOW, candidates=[],
               item_ident="1:x")
    assert a.new_id and a.new_id == b.new_id and a.milestone_id is None


def test_later_reports_within_the_window_corroborate() -> None:
    c = [Candidate("m1", "fisher", "completed", T0)]
    assert decide(hit(principals=("fisher",)), event_at=T0 + timedelta(days=3), window=WINDOW,
                  candidates=c, item_ident="2:y").milestone_id == "m1"
    # a report naming nobody, or only a guessed name, is the same event
    assert decide(hit(), event_at=T0 + timedelta(days=1), window=WINDOW, candidates=c,
                  item_ident="3:z").milestone_id == "m1"
    assert decide(hit(principals=("name:Джули Фишер",)), event_at=T0, window=WINDOW,
                  candidates=c, item_ident="4:w").milestone_id == "m1"


def test_different_people_or_outside_the_window_are_new() -> None:
    c = [Candidate("m1", "fisher", "completed", T0)]
    assert decide(hit(principals=("stewart",)), event_at=T0, window=WINDOW, candidates=c,
                  item_ident="5:v").new_id
    assert decide(hit(principals=("fisher",)), event_at=T0 + timedelta(days=15),
                  window=WINDOW, candidates=c, item_ident="6:u").new_id


def test_intent_to_nominate_and_nomination_are_one_milestone() -> None:
    c = [Candidate("m1", "fisher", "announced", T0)]
    d = decide(hit("ambassador_named", ("fisher",), "completed"),
               event_at=T0 + timedelta(days=13), window=WINDOW, candidates=c, item_ident="7:t")
    assert d.milestone_id == "m1" and d.status_step == "completed"


def test_stale_gate() -> None:
    seen = T0
    assert is_stale(T0 - timedelta(days=4), seen, timedelta(hours=72))
    assert not is_stale(T0 - timedelta(hours=5), seen, timedelta(hours=72))
    assert not is_stale(None, seen, timedelta(hours=72))
    assert not is_stale(T0 - timedelta(days=400), seen, None)  # max_item_age "0": gate off


def test_channel_routing() -> None:
    kw = {"watchlist": "belarus-us", "type_": "sanctions_lifted", "severity": "high"}
    assert channel_wants(watchlists=[], types=[], min_severity="low", **kw)
    assert not channel_wants(watchlists=["armenia-eu"], types=[], min_severity="low", **kw)
    assert not channel_wants(watchlists=[], types=["embassy_closed"], min_severity="low", **kw)
    assert not channel_wants(watchlists=[], types=[], min_severity="critical", **kw)
