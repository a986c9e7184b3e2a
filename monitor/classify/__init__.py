"""The classifier: watchlists in, ``Classification`` per item out.

    normalise -> gate (can the item matter at all? most of a stream stops here)
              -> document (fields, paragraphs, lead and body, sentences, clauses, tokens
                           with their source spans, stems)
              -> matcher (one Aho-Corasick pass for every watchlist)
              -> rules (actors, relevance, milestone rules) + guards
                 + reading (does a trigger report the item's news: zone, and the time
                            of its clause from temporal and the language files)

Pure: no I/O after the watchlists are loaded; ``now`` comes in as an argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, NamedTuple

from monitor.classify.document import build_document, clean_item, item_text, prepare
from monitor.classify.gate import Gate
from monitor.classify.language import LANGUAGES, language
from monitor.classify.matcher import Matcher
from monitor.classify.mentions import Scan, collect, relevance
from monitor.classify.normalise import lower
from monitor.classify.reading import Reading
from monitor.classify.rules import find_milestones
from monitor.classify.watchlist import Watchlist, load_watchlist, load_watchlists
from monitor.model import DEDUPE_WINDOW, Classification, ItemText, MilestoneHit, Rejection

__all__ = ["Classifier", "Watchlist", "load_watchlist", "load_watchlists"]


class Ref(NamedTuple):
    """What a matched word stands for in watchlist number ``watchlist``: an actor (``key``:
    its index), a term or a guard word (``key``: its group), an exclusion, an off-topic word."""

    kind: Literal["actor", "term", "guard", "exclude", "off"]
    watchlist: int
    key: Any = None


class Classifier:
    """Compiles every watchlist once; ``classify`` is then cheap and thread-safe."""

    def __init__(self, watchlists: list[Watchlist],
                 windows: Mapping[str, float] | None = None,
                 default_window: float = DEDUPE_WINDOW) -> None:
        """``windows``: seconds per milestone type (``alerting.dedupe_windows``) and
        ``default_window`` (``alerting.dedupe_window``): a clause dated before an item by
        more than its type's window reports background, not news."""
        self.window_days = {t: max(1, round(s / 86400)) for t, s in (windows or {}).items()}
        self.default_window_days = max(1, round(default_window / 86400))
        self.watchlists: tuple[Watchlist, ...] = tuple(watchlists)
        self.watchlist_names: tuple[str, ...] = tuple(w.name for w in watchlists)
        self.versions = {w.name: w.version for w in watchlists}
        self._all = list(range(len(watchlists)))
        entries: list[tuple[str, Ref]] = []
        for wi, wl in enumerate(watchlists):
            for ai, actor in enumerate(wl.actors):
                entries.extend((alias, Ref("actor", wi, ai)) for alias in actor.aliases)
            entries.extend((p, Ref("exclude", wi)) for p in wl.exclude)
            entries.extend((p, Ref("off", wi)) for p in wl.relevance.off_topic)
            for group, words in wl.terms.items():
                entries.extend((w, Ref("term", wi, group)) for w in words)
            for group, words in wl.guards.items():
                entries.extend((w, Ref("guard", wi, group)) for w in words)
        self.matcher = Matcher(entries)
        # Items failing every gate skip splitting and rules altogether -- most of a stream.
        self._gate = Gate(watchlists)
        for code in LANGUAGES:          # the language files are read here, not mid-stream
            language(code)

    def classify(self, item: ItemText, now: datetime | None = None,
                 watchlist: str | None = None, explain: bool = False) -> Classification:
        """Relevance, actors and milestones of one item (optionally one watchlist only);
        ``explain`` also lists the rules whose words were found but did not fire."""
        if watchlist is None:
            wanted = self._all
        else:
            wanted = [wi for wi, name in enumerate(self.watchlist_names) if name == watchlist]
        cleaned = clean_item(item)
        low = lower(item_text(cleaned.title, cleaned.body))
        prep = None
        if self._gate.may_pass(low, cleaned.lang, wanted):
            prep = prepare(item, cleaned, low)
            if not self._gate.passes(prep.tokens, prep.stems, wanted):
                prep = None
        if prep is None:
            return Classification(
                id=item.id, relevant=False, score=0.0, versions=dict(self.versions)
                if watchlist is None else {
                    k: v for k, v in self.versions.items() if k == watchlist})
        doc = build_document(item, now, prep)
        matches = self.matcher.scan(doc.tokens, doc.stems)
        n = len(self.watchlists)
        actor_hits: list[list[tuple[int, int, int]]] = [[] for _ in range(n)]
        excluded: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        terms: list[dict[str, dict[int, list[tuple[int, int]]]]] = [{} for _ in range(n)]
        guard_spans: list[dict[str, dict[int, list[tuple[int, int]]]]] = [{} for _ in range(n)]
        off = [0] * n
        sent_of = doc.sent_of
        for start, end, refs in matches:
            for kind, wi, key in refs:
                if kind == "actor":
                    actor_hits[wi].append((key, start, end))
                elif kind == "term" or kind == "guard":
                    target = terms[wi] if kind == "term" else guard_spans[wi]
                    target.setdefault(key, {}).setdefault(sent_of[start], []).append(
                        (start, end))
                elif kind == "exclude":
                    excluded[wi].append((start, end))
                else:
                    off[wi] += 1
        relevant_to: list[str] = []
        actors: dict[str, None] = {}
        milestones: list[MilestoneHit] = []
        rejected: list[Rejection] = []
        reading: Reading | None = None
        best = 0.0
        for wi, wl in enumerate(self.watchlists):
            if watchlist is not None and wl.name != watchlist:
                continue
            if not actor_hits[wi]:
                continue
            scan: Scan = collect(wl, doc, actor_hits[wi], excluded[wi], terms[wi],
                                 guard_spans[wi], off[wi])
            score, ok = relevance(wl, scan, doc)
            hits: list[MilestoneHit] = []
            if terms[wi]:
                if reading is None:
                    reading = Reading(doc, self.window_days, self.default_window_days)
                hits, why_not, discussed = find_milestones(wl, doc, scan, reading, explain)
                rejected.extend(why_not)
                if discussed and not ok and scan.off_topic < wl.relevance.off_topic_min:
                    ok = True                # "Госдеп: смягчение санкций ... не рассматривается"
                    score = max(score, wl.relevance.min_side_weight)
            if hits and scan.off_topic < wl.relevance.off_topic_min:
                ok = True
                score = max(score, max(h.confidence for h in hits))
            else:
                hits = []
            if ok:
                relevant_to.append(wl.name)
                milestones.extend(hits)
                for mention in scan.mentions:
                    actors.setdefault(mention.actor.id, None)
            best = max(best, min(1.0, score))
        return Classification(
            id=item.id, relevant=bool(relevant_to), score=round(best, 4),
            watchlists=tuple(relevant_to), actors=tuple(actors), milestones=tuple(milestones),
            versions={k: v for k, v in self.versions.items()
                      if watchlist is None or k == watchlist},
            rejected=tuple(rejected))
