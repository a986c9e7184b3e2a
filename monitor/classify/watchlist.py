"""The watchlist file format (pydantic v2 models) and its loader.

A watchlist names the actors of a relationship (people, institutions, countries, with every
alias), named lists of trigger words (``terms``), guard word lists and the milestone types
with their rules. The format is documented in ``docs/watchlists.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from monitor.errors import ConfigError

Scope = Literal["sentence", "context", "item"]
Severity = Literal["low", "medium", "high", "critical"]
ActorKind = Literal["person", "institution", "country", "capital", "adjective", "title",
                    "entity", "organisation"]
GUARD_GROUPS = ("negation", "no_longer", "hedge", "intention", "discussion", "appeal", "denial",
                "historical", "retrospective", "since", "after", "cause", "future",
                "location", "gov_noun")
_KIND_WEIGHT = {"person": 1.0, "institution": 1.0, "country": 1.0, "capital": 0.8,
                "adjective": 0.5, "title": 1.0, "entity": 0.8, "organisation": 0.8}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_terms(values: list[str]) -> list[str]:
    for v in values:
        if not isinstance(v, str) or not v.strip():
            raise ValueError("empty trigger")
        for word in v.split():
            core = word.lstrip("=").rstrip("*")
            if not core:
                raise ValueError(f"bad trigger word {word!r} in {v!r}")
        if "*" in v.rstrip("*"):
            raise ValueError(f"'*' may only end the last word: {v!r}")
    return values


class Actor(_Model):
    """A person, institution, place or country-word that stands for one side."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    side: str | None = None          # None only for titles that take the side of a neighbour
    default_side: str | None = None  # a title's side when no neighbour gives one
    kind: ActorKind = "person"
    senior: bool = False             # counts as a senior official (high_level_contact)
    government: bool = True          # False: opposition, private persons, legislators...
    weight: float | None = Field(default=None, ge=0, le=1)
    aliases: list[str] = Field(min_length=1)

    @field_validator("aliases")
    @classmethod
    def _aliases_ok(cls, v: list[str]) -> list[str]:
        return _check_terms(v)

    @property
    def relevance_weight(self) -> float:
        return self.weight if self.weight is not None else _KIND_WEIGHT[self.kind]


class Rule(_Model):
    """One way a milestone is recognised inside a sentence."""

    id: str
    all: list[str] = Field(min_length=1)   # term groups that must all occur; first = trigger
    any: list[str] = []                    # at least one of these term groups must occur
    not_: list[str] = Field(default=[], alias="not")  # none of these in the sentence
    not_near: list[str] = []               # none of these within NOT_NEAR tokens of the trigger
    hedge_after: list[str] = []            # hedge words after these groups are an order's content
    mask: list[str] = []                   # a trigger inside these groups' phrases is none
                                           # ("Specially Designated Nationals": a name)
    near: int | None = Field(default=None, ge=1)  # max token distance trigger <-> other groups
    sides: dict[str, Scope] = {}           # side id -> where an actor of it must appear
    senior: list[str] = []                 # sides whose actor must be a senior official
    one_senior_in_sentence: bool = False   # at least one senior actor inside the sentence
    foreign_check: bool = False            # trigger next to a third country voids it
    subject: str | None = None             # side whose actor must just precede the trigger
    object: str | None = None              # side whose actor must just follow the trigger
    allow: list[str] = []                  # guard groups not applied to this rule
    status: str | None = None
    confidence: float = Field(default=0.8, gt=0, le=1)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class MilestoneType(_Model):
    title: str
    severity: Severity = "medium"
    status: str = "completed"              # default status when no future marker is seen
    description: str = ""
    rules: list[Rule] = Field(min_length=1)
    allow: list[str] = []                  # guard groups not applied to any of its rules
                                           # (a demand to cut staff is the event itself)
    suppressed_by: list[str] = []          # other types whose hit in the same sentence wins
    superseded_by: list[str] = []          # other types whose hit anywhere in the item wins
    # what tells two events of the type apart: the ambassador (envoy), the senior people
    # who met (participants), the entities a measure names (targets); none: time alone
    principals: Literal["none", "envoy", "participants", "targets"] = "none"


class Relevance(_Model):
    min_side_weight: float = Field(default=0.8, ge=0, le=1)
    sides: list[str] = Field(min_length=1)
    off_topic: list[str] = []              # e.g. sports vocabulary
    off_topic_min: int = Field(default=2, ge=1)

    @field_validator("off_topic")
    @classmethod
    def _off_topic_ok(cls, v: list[str]) -> list[str]:
        return _check_terms(v)


class Watchlist(_Model):
    """One watchlist file, validated."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    version: str
    description: str = ""
    sides: dict[str, str] = Field(min_length=1)
    actors: list[Actor] = Field(min_length=1)
    exclude: list[str] = []                # phrases that cancel actor mentions ("us open")
    relevance: Relevance
    terms: dict[str, list[str]] = {}
    guards: dict[str, list[str]] = {}
    milestones: dict[str, MilestoneType] = Field(min_length=1)

    @field_validator("terms", "guards")
    @classmethod
    def _terms_ok(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for words in v.values():
            _check_terms(words)
        return v

    @field_validator("guards")
    @classmethod
    def _guard_names(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(v) - set(GUARD_GROUPS))
        if unknown:
            raise ValueError(f"unknown guard group(s) {unknown}; known: {list(GUARD_GROUPS)}")
        return v

    @model_validator(mode="after")
    def _type_allow(self) -> Watchlist:
        """A type's ``allow`` applies to each of its rules."""
        for mt in self.milestones.values():
            if mt.allow:
                object.__setattr__(mt, "rules", [
                    r.model_copy(update={"allow": list(dict.fromkeys(r.allow + mt.allow))})
                    for r in mt.rules])
        return self

    @model_validator(mode="after")
    def _references(self) -> Watchlist:
        ids = [a.id for a in self.actors]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate actor id(s) {dup}")
        for i, a in enumerate(self.actors):
            for key, side in (("side", a.side), ("default_side", a.default_side)):
                parts = (side or "").split("+")
                if side is not None and any(p not in self.sides and p != "other" for p in parts):
                    raise _RefError(f"actors[{i}].{key}", f"unknown side {side!r}")
        for s in self.relevance.sides:
            if s not in self.sides:
                raise _RefError("relevance.sides", f"unknown side {s!r}")
        for mid, mt in self.milestones.items():
            for g in mt.allow:
                if g not in GUARD_GROUPS:
                    raise _RefError(f"milestones.{mid}.allow", f"unknown guard group {g!r}")
            for j, r in enumerate(mt.rules):
                where = f"milestones.{mid}.rules[{j}]"
                for key, groups in (("all", r.all), ("any", r.any), ("not", r.not_),
                                    ("not_near", r.not_near), ("hedge_after", r.hedge_after),
                                    ("mask", r.mask)):
                    for g in groups:
                        if g not in self.terms:
                            raise _RefError(f"{where}.{key}", f"unknown term group {g!r}")
                for s in list(r.sides) + r.senior + [
                        x for x in (r.subject, r.object) if x is not None]:
                    if s not in self.sides:
                        raise _RefError(f"{where}.sides", f"unknown side {s!r}")
                for g in r.allow:
                    if g not in GUARD_GROUPS:
                        raise _RefError(f"{where}.allow", f"unknown guard group {g!r}")
            for key, others in (("suppressed_by", mt.suppressed_by),
                                ("superseded_by", mt.superseded_by)):
                for o in others:
                    if o not in self.milestones:
                        raise _RefError(f"milestones.{mid}.{key}", f"unknown type {o!r}")
        return self

    @property
    def milestone_types(self) -> dict[str, tuple[str, str, str]]:
        """Type id -> (title, severity, default status)."""
        return {k: (m.title, m.severity, m.status) for k, m in self.milestones.items()}


class _RefError(ValueError):
    """A cross-reference error that knows its key path."""

    def __init__(self, key_path: str, message: str) -> None:
        super().__init__(message)
        self.key_path = key_path


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def load_watchlist(path: Path) -> Watchlist:
    """Read and validate one watchlist file; raises ConfigError naming file and key path."""
    file = str(path)
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(file, None, "watchlist file not found") from None
    except OSError as exc:
        raise ConfigError(file, None, f"cannot read watchlist: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(file, None, f"not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(file, None, "a watchlist must be a YAML mapping")
    try:
        return Watchlist.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        ctx_err = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_err, _RefError):
            raise ConfigError(file, ctx_err.key_path, str(ctx_err)) from None
        key = _loc(tuple(p for p in err["loc"] if p != "not_"))
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(file, key or None, f"{err['msg']}{more}") from None


def load_watchlists(paths: list[Path]) -> list[Watchlist]:
    """Load every watchlist; names must be unique. Raises ConfigError."""
    out: list[Watchlist] = []
    seen: dict[str, str] = {}
    for p in paths:
        wl = load_watchlist(p)
        if wl.name in seen:
            raise ConfigError(str(p), "name", f"watchlist name {wl.name!r} already used by "
                              f"{seen[wl.name]}")
        seen[wl.name] = str(p)
        out.append(wl)
    return out
