"""Positions in a rewritten string, traced back to the string it was rewritten from.

The classifier matches a normalised copy of the text ("U.S." read as "usa", quotes and
dashes folded, case folded) but quotes the source's own words, so every rewrite records
where it replaced what. An ``Edits`` list is the rewrite's replaced segments; ``OffsetMap``
composes the rewrites of one text and maps a span of the final string to the source.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from re import Match, Pattern

# (start, end) replaced in the old string by a replacement of length ``new_len``
Edit = tuple[int, int, int]


class Step:
    """One rewrite: the segments it replaced, in order, with their positions both sides."""

    __slots__ = ("_new_end", "_new_start", "_old_end", "_old_start")

    def __init__(self, edits: Iterable[Edit]) -> None:
        self._new_start: list[int] = []
        self._new_end: list[int] = []
        self._old_start: list[int] = []
        self._old_end: list[int] = []
        shift = 0
        for start, end, new_len in edits:
            self._new_start.append(start + shift)
            self._new_end.append(start + shift + new_len)
            self._old_start.append(start)
            self._old_end.append(end)
            shift += new_len - (end - start)

    def back(self, pos: int, end: bool) -> int:
        """The old position of new position ``pos``; inside a replacement, its start (or its
        end, for the end of a span)."""
        i = bisect_right(self._new_start, pos) - 1
        if i < 0:
            return pos
        if pos < self._new_end[i] or (end and pos == self._new_end[i] and pos > self._new_start[i]):
            return self._old_end[i] if end else self._old_start[i]
        return pos - self._new_end[i] + self._old_end[i]


class OffsetMap:
    """The rewrites of one text, oldest first; maps spans of the result to the source."""

    __slots__ = ("steps",)

    def __init__(self) -> None:
        self.steps: list[Step] = []

    def add(self, edits: list[Edit]) -> None:
        if edits:
            self.steps.append(Step(edits))

    def source(self, start: int, end: int) -> tuple[int, int]:
        """The source span of ``[start, end)`` of the rewritten text."""
        for step in reversed(self.steps):
            start, end = step.back(start, False), step.back(end, True)
        return start, end


def sub_mapped(pattern: Pattern[str], repl: str | Callable[[Match[str]], str], text: str,
               edits: list[Edit]) -> str:
    """``pattern.sub(repl, text)``, recording every replacement that changes the text."""
    out: list[str] = []
    last = 0
    for m in pattern.finditer(text):
        new = repl(m) if callable(repl) else m.expand(repl)
        old = m.group(0)
        if new == old:
            continue
        out.append(text[last:m.start()])
        out.append(new)
        edits.append((m.start(), m.end(), len(new)))
        last = m.end()
    if last == 0:
        return text
    out.append(text[last:])
    return "".join(out)
