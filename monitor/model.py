"""Frozen values passed between the pipeline's stages.

fetch -> FetchResult -> parse -> ParsedFeed(ParsedItem...) -> store
classify(ItemText) -> Classification(MilestoneHit...) -> milestones -> alerts
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

IDENTITY_MAX = 512          # characters of an item's identity the items table keeps
# seconds: ``alerting.dedupe_window``'s default. Later reports of a milestone within it are
# the same event, and the classifier reads a clause dated further back as background.
DEDUPE_WINDOW = 14 * 86400.0


def identity_key(identity: str) -> str:
    """An item's identity as it is stored and compared: itself, or when longer than the
    column holds, ``sha256:`` and its hash (two long ids that share a beginning stay two)."""
    if len(identity) <= IDENTITY_MAX:
        return identity
    return "sha256:" + hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class FetchResult:
    """What one HTTP fetch of a feed produced (success or not)."""

    url: str                         # the URL asked for
    final_url: str                   # after redirects
    status: int | None               # HTTP status, None when no response came
    body: bytes | None = None        # decoded (de-gzipped) body; None on 304 or failure
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased response headers
    etag: str | None = None
    last_modified: str | None = None
    permanent_redirect: str | None = None  # new URL to remember after a 301/308
    retry_after: float | None = None       # seconds, from 429/503 Retry-After
    duration: float = 0.0                  # seconds
    bytes_read: int = 0
    error: str | None = None               # readable reason when the fetch failed
    error_kind: str | None = None          # short machine tag: timeout, connect, too_large, http, ssrf...

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True)
class ParsedItem:
    """One feed entry, normalised: plain text, canonical URL, UTC date, stable identity."""

    identity: str                    # stable within a feed: guid, else canonical link, else hash
    title: str
    url: str | None                  # canonical URL (tracking parameters and fragment removed)
    link: str | None                 # the link as the feed gave it
    summary: str = ""                # plain text
    content: str = ""                # plain text
    published: datetime | None = None  # aware UTC; None when missing or absurd
    language: str | None = None
    author: str | None = None
    fingerprint: str = ""            # content fingerprint: same story from two feeds -> same value
    raw: dict[str, Any] = field(default_factory=dict)  # JSON-safe copy of the source entry


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed document."""

    title: str | None
    link: str | None
    language: str | None
    version: str                     # rss20, atom10, json11, ... or "" when unknown
    items: tuple[ParsedItem, ...]
    warning: str | None = None       # readable note when the document was broken but usable


@dataclass(frozen=True)
class ItemText:
    """The text the classifier reads for one item."""

    id: str
    title: str
    summary: str = ""
    content: str = ""
    published: datetime | None = None
    language: str | None = None
    url: str | None = None

    @classmethod
    def of(cls, item: Any, id: str = "") -> ItemText:
        """What the classifier reads of a parsed item (``ParsedItem``) or a stored one
        (``ItemRow``): one rule for both, so that reclassifying a stored item reads what its
        first classification read."""
        return cls(id=id, title=item.title or "", summary=item.summary or "",
                   content=item.content or "", published=item.published,
                   language=item.language, url=item.url)


@dataclass(frozen=True)
class TimeAnchor:
    """The time expression that dated a trigger's clause, as the source wrote it."""

    text: str
    kind: str                        # date, month, year, weekday, relative, ago, now, past...
    relation: str                    # past | current | unknown (to the item's date)
    first: date | None = None        # the days it names, when it names days
    last: date | None = None


@dataclass(frozen=True)
class Reason:
    """Why a rule fired in a sentence, or why it did not: data for an analyst's view."""

    rule: str                        # "<type>.<rule id>"
    zone: str                        # title | lead | body
    basis: str                       # fired: lead | anchored | corroborated; else the guard
    anchor: TimeAnchor | None = None
    cue: str = ""                    # the words that voided it, as written ("could")

    def to_json(self) -> dict[str, Any]:
        a = self.anchor
        return {"rule": self.rule, "zone": self.zone, "basis": self.basis,
                **({"cue": self.cue} if self.cue else {}),
                "anchor": None if a is None else {
                    "text": a.text, "kind": a.kind, "relation": a.relation,
                    "first": a.first.isoformat() if a.first else None,
                    "last": a.last.isoformat() if a.last else None}}

    @classmethod
    def from_json(cls, d: dict[str, Any] | None) -> Reason | None:
        if not d:
            return None
        a = d.get("anchor")
        anchor = None if not a else TimeAnchor(
            str(a["text"]), str(a["kind"]), str(a["relation"]),
            date.fromisoformat(a["first"]) if a.get("first") else None,
            date.fromisoformat(a["last"]) if a.get("last") else None)
        return cls(str(d["rule"]), str(d["zone"]), str(d["basis"]), anchor,
                   str(d.get("cue") or ""))


@dataclass(frozen=True)
class EvidenceSpan:
    """Where evidence sits in the item's stored text: a field and character offsets."""

    field: str                       # title | summary | content
    start: int
    end: int
    triggers: tuple[tuple[int, int], ...] = ()   # trigger words, offsets in the same field

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "start": self.start, "end": self.end,
                "triggers": [list(t) for t in self.triggers]}

    @classmethod
    def from_json(cls, d: dict[str, Any] | None) -> EvidenceSpan | None:
        if not d:
            return None
        return cls(str(d["field"]), int(d["start"]), int(d["end"]),
                   tuple((int(a), int(b)) for a, b in d.get("triggers") or []))

    def highlights(self) -> tuple[tuple[int, int], ...]:
        """The trigger spans relative to the evidence text."""
        return tuple((a - self.start, b - self.start) for a, b in self.triggers
                     if self.start <= a < b <= self.end)


@dataclass(frozen=True)
class MilestoneHit:
    """One milestone detected in one item."""

    type: str                        # one of the watchlist's milestone ids
    watchlist: str
    status: str                      # announced | completed | ...
    confidence: float
    evidence: str                    # the sentence that carries it, as the source wrote it
    actors: tuple[str, ...] = ()     # actor ids matched in the evidence
    principals: tuple[str, ...] = ()  # actor ids that identify the event (a named person...)
    triggers: tuple[str, ...] = ()   # trigger words matched, as written in the text
    rule: str = ""                   # id of the rule that fired
    severity: str = "medium"
    title: str = ""                  # the milestone type's human title
    evidence_at: EvidenceSpan | None = None
    reason: Reason | None = None


@dataclass(frozen=True)
class Rejection:
    """A rule whose words were found but that did not fire, and the guard that stopped it."""

    type: str
    watchlist: str
    evidence: str
    reason: Reason

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "watchlist": self.watchlist, "evidence": self.evidence,
                **self.reason.to_json()}


@dataclass(frozen=True)
class Classification:
    """What the classifier says of one item."""

    id: str
    relevant: bool
    score: float
    watchlists: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()
    milestones: tuple[MilestoneHit, ...] = ()
    versions: dict[str, str] = field(default_factory=dict)  # watchlist name -> version
    rejected: tuple[Rejection, ...] = ()     # filled only when asked to explain

    def to_json(self) -> dict[str, Any]:
        """The `monitor classify` output line (contract), plus extra keys."""
        return {
            "id": self.id,
            "relevant": self.relevant,
            "score": round(self.score, 4),
            "watchlists": list(self.watchlists),
            "actors": list(self.actors),
            "milestones": [
                {
                    "type": m.type,
                    "watchlist": m.watchlist,
                    "status": m.status,
                    "confidence": round(m.confidence, 4),
                    "evidence": m.evidence,
                    "actors": list(m.actors),
                    "triggers": list(m.triggers),
                    "rule": m.rule,
                    **({"evidence_at": m.evidence_at.to_json()} if m.evidence_at else {}),
                    **({"reason": m.reason.to_json()} if m.reason else {}),
                }
                for m in self.milestones
            ],
            **({"rejected": [r.to_json() for r in self.rejected]} if self.rejected else {}),
        }


@dataclass(frozen=True)
class SourceRef:
    """One report of a milestone: an item from a feed."""

    title: str
    url: str | None
    feed: str
    published: datetime | None
    outlet: str | None = None        # publisher (for collapsing syndicated copies)


@dataclass(frozen=True)
class MilestoneAlert:
    """Everything a channel needs to render one milestone alert."""

    id: str                          # stable milestone id
    type: str                        # milestone type id (contract)
    type_title: str                  # human title of the type ("Ambassador named")
    watchlist: str
    watchlist_version: str
    title: str                       # human headline (usually the first item's title)
    status: str
    severity: str
    first_seen: datetime
    evidence: str
    actors: tuple[str, ...] = ()
    triggers: tuple[str, ...] = ()
    rule: str = ""
    confidence: float = 0.0
    items: tuple[SourceRef, ...] = ()
    # the trigger words in ``evidence`` (character offsets into it); empty for milestones
    # stored before offsets were kept, whose triggers are then found by their words
    highlights: tuple[tuple[int, int], ...] = ()
    evidence_at: EvidenceSpan | None = None      # where the evidence sits in its item
    reason: Reason | None = None
    item_id: int | None = None                   # the first report's stored item


@dataclass(frozen=True)
class FeedHealthAlert:
    """A coverage-health event: a feed went unhealthy or silent, or recovered."""

    feed: str
    url: str
    state: str                       # unhealthy | recovered
    since: datetime
    reason: str
    watchlists: tuple[str, ...] = ()


def iso(dt: datetime | None) -> str | None:
    """``2020-04-20T14:02:00Z`` (UTC, whole seconds); naive datetimes are taken as UTC."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
