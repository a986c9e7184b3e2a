"""The gate: can an item matter to a watchlist at all?

An item can only matter to a watchlist if an actor of every "gate side" is named in it. A
gate side is a relevance side that every milestone rule also requires (relevance takes the
weakest side, so a missing side scores 0 and no rule can fire). Most of a news stream fails
every gate, so the gate decides in two steps:

1. ``may_pass`` -- a cheap, sound over-approximation on the case-folded text, before any
   tokenising or stemming. Every alias key is reduced to literals that *must* occur in the
   text whenever the key matches the tokens: a token is a substring of the case-folded text
   (of its Belarusian-folded form for ``be`` items, see ``fold_text``); an exact or prefix
   word is a substring of its token; a Cyrillic stem (Russian Snowball, the Belarusian
   stripper) is a prefix of its token. English Snowball may rewrite the end of a word, but
   only in these ways: the stem's tail ``z`` (one of ``_EN_TAILS``) stands where the word
   had one of ``_EN_WAS`` ("happy" -> "happi", "dying" -> "die", "capability" ->
   "capabl", "skies" -> "sky"), so a stem ``s`` ending in such a tail stands for the
   literals ``s`` or ``s[:-len(z)] + c``. A key matches only if all its words do, so all
   its words' literals must be found. If no key of some gate side can be complete, the
   exact gate would fail too.
2. ``passes`` -- the exact test on tokens and stems (``Matcher.refs``).
"""

from __future__ import annotations

import re
from typing import Any

import ahocorasick

from monitor.classify.matcher import STEM_SEP, Matcher, Ref, compile_keys
from monitor.classify.normalise import BE_SOFT_RE
from monitor.classify.watchlist import Watchlist

_EN_TAILS = ("e", "i", "l", "y", "ie", "le")
_EN_WAS = "aeioy"

Slot = frozenset[str]          # a word of a key: found if any of these literals is


def stem_literals(s: str) -> set[str]:
    """Literals one of which occurs in every token whose stem is ``s``."""
    out = {s}
    if "a" <= s[:1] <= "z":
        for z in _EN_TAILS:
            if s.endswith(z):
                out.update(s[: -len(z)] + c for c in _EN_WAS)
    return out


def _be_variant(lit: str) -> str:
    return lit.replace("ў", "у")


def fold_text(low: str) -> str:
    """The case-folded text as Belarusian items are matched: ``normalise.fold_be`` applied
    to the whole text (a soft sign before a consonant only ever sits inside a token), and
    every ``ў`` read as ``у`` (``fold_be`` does so at the start of a token only; literals
    get the same treatment, so a literal found in the tokens is found here)."""
    if "ь" in low:
        low = BE_SOFT_RE.sub("", low)
    return low.replace("э", "е").replace("ў", "у")


def key_slots(key: str) -> list[Slot]:
    """Literals of one compiled automaton key, one set per word. Each literal begins a
    token, so it is written after a separator (see ``marked``) and ends at the word's
    first apostrophe (``marked`` reads apostrophes as separators)."""
    if key.startswith(STEM_SEP):
        words = [w for w in key.split(STEM_SEP) if w]
        lits = [stem_literals(w) for w in words]
    else:
        lits = [{w} for w in key.split(" ") if w]
    return [frozenset(SEP + v.split("'")[0] for v in x | {_be_variant(v) for v in x})
            for x in lits]


SEP = "\x01"
_TOKEN_CHAR = re.compile("[0-9a-z\u0430-\u044f\u0456\u045e]")
_ASCII_SEP = bytes(c if _TOKEN_CHAR.match(chr(c)) else 1 for c in range(256))
# Every token character (Latin, digits, Russian and Belarusian lower case) has a byte in
# cp1251: text goes through it as bytes, with whatever is not in cp1251 (never a token
# character) encoded as "?", which the table makes a separator like any other.
_CP1251_SEP = bytes(c if _TOKEN_CHAR.match(bytes([c]).decode("cp1251", "replace")) else 1
                    for c in range(256))


def marked(low: str) -> str:
    """``low`` with a separator before every token: every character that cannot be part
    of a token (apostrophes included, which never start one) becomes ``SEP``. Literals
    then start with ``SEP``, so the automaton leaves its root only at a token's start.
    (Through bytes.translate: a regex substitution is slower, on Cyrillic text above all.)"""
    if low.isascii():
        return SEP + low.encode("ascii").translate(_ASCII_SEP).decode("ascii")
    return SEP + low.encode("cp1251", "replace").translate(_CP1251_SEP).decode("cp1251")


class Gate:
    """The gate sides of every watchlist, compiled for ``may_pass`` and ``passes``."""

    def __init__(self, watchlists: list[Watchlist]) -> None:
        self.sides: list[tuple[str, ...]] = []
        entries: list[tuple[str, Ref]] = []
        for wi, wl in enumerate(watchlists):
            sides = tuple(s for s in wl.relevance.sides if wl.relevance.min_side_weight > 0
                          and all(s in r.sides for mt in wl.milestones.values()
                                  for r in mt.rules))
            self.sides.append(sides)
            for actor in wl.actors:
                for part in (actor.side or "").split("+"):
                    if part in sides:
                        entries.extend((alias, (wi, part)) for alias in actor.aliases)
        self._exact = Matcher(entries)
        # Only the key's most telling word (its "anchor") goes into the automaton; the
        # other words of a found anchor are looked up with ``in``.
        by_anchor: dict[str, list[tuple[tuple[Slot, ...], Ref]]] = {}
        self._always: set[Ref] = set()
        for alias, ref in entries:
            for key, _n in compile_keys(alias):
                slots = list(dict.fromkeys(key_slots(key)))
                if any(lit == SEP for slot in slots for lit in slot):
                    self._always.add(ref)     # an empty literal is always "found"
                    continue
                anchor = max(slots, key=lambda sl: min(map(len, sl)))
                slots.remove(anchor)
                for lit in anchor:
                    by_anchor.setdefault(lit, []).append((tuple(slots), ref))
        self._auto: Any = ahocorasick.Automaton()
        for lit, keys in by_anchor.items():
            self._auto.add_word(lit, tuple(dict.fromkeys(keys)))
        self._empty = not by_anchor
        if not self._empty:
            self._auto.make_automaton()

    def may_pass(self, low: str, lang: str, wanted: list[int]) -> bool:
        """False only if ``passes`` is certainly False for every wanted watchlist; ``low``
        is the item's cleaned text as ``normalise.lower`` returns it."""
        if any(not self.sides[wi] for wi in wanted):
            return True
        found = set(self._always)
        if not self._empty:
            text = marked(fold_text(low) if lang == "be" else low)
            for _end, keys in self._auto.iter(text):
                for slots, ref in keys:
                    if ref not in found and all(
                            any(lit in text for lit in slot) for slot in slots):
                        found.add(ref)
        return any(all((wi, s) in found for s in self.sides[wi]) for wi in wanted)

    def passes(self, tokens: list[str], stems: list[str], wanted: list[int]) -> bool:
        """The exact gate: every gate side of some wanted watchlist is named."""
        found = self._exact.refs(tokens, stems)
        return any(all((wi, s) in found for s in self.sides[wi]) for wi in wanted)
