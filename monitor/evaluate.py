"""Score classifications against labelled rows (same semantics as shared/eval/score.py).

Gold rows carry ``id``, ``relevant``, ``milestones`` and ``also_ok``; a predicted type in
``also_ok`` is neither rewarded nor punished. Pure: values in, a report out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from monitor.model import Classification


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int


@dataclass(frozen=True)
class WrongLine:
    id: str
    want: tuple[str, ...]
    got: tuple[str, ...]            # predicted types, also_ok removed
    title: str
    relevant_want: bool
    relevant_got: bool


@dataclass(frozen=True)
class Report:
    per_type: dict[str, Scores]
    micro: Scores
    relevance: Scores
    true_negatives: int
    missing: tuple[str, ...] = ()
    wrong: tuple[WrongLine, ...] = field(default_factory=tuple)


def prf(tp: int, fp: int, fn: int) -> Scores:
    """Precision, recall and F1; an empty denominator counts as 1.0 (as score.py does)."""
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return Scores(p, r, f, tp, fp, fn)


def _pred_dict(p: Classification | Mapping[str, Any]) -> Mapping[str, Any]:
    return p.to_json() if isinstance(p, Classification) else p


def evaluate(gold: Sequence[Mapping[str, Any]],
             preds: Iterable[Classification | Mapping[str, Any]]) -> Report:
    """Compare predictions (Classification or output-line dicts) with gold rows by id."""
    by_id = {str(d.get("id")): d for d in (_pred_dict(p) for p in preds)}
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    rel: Counter[str] = Counter()
    missing: list[str] = []
    wrong: list[WrongLine] = []
    for g in gold:
        gid = str(g.get("id"))
        p = by_id.get(gid)
        if p is None or "error" in p:
            missing.append(gid)
            p = {}
        want = set(g.get("milestones") or [])
        ok = set(g.get("also_ok") or [])
        got = {str(m.get("type")) for m in p.get("milestones", []) if isinstance(m, Mapping)}
        for t in want & got:
            tp[t] += 1
        for t in got - want - ok:
            fp[t] += 1
        for t in want - got:
            fn[t] += 1
        truth, said = bool(g.get("relevant")), bool(p.get("relevant"))
        rel[{(True, True): "tp", (False, True): "fp",
             (True, False): "fn", (False, False): "tn"}[truth, said]] += 1
        if want - got or got - want - ok or truth != said:
            wrong.append(WrongLine(gid, tuple(sorted(want)), tuple(sorted(got - ok)),
                                   str(g.get("title", "")), truth, said))
    types = sorted(set(tp) | set(fp) | set(fn))
    return Report(
        per_type={t: prf(tp[t], fp[t], fn[t]) for t in types},
        micro=prf(sum(tp.values()), sum(fp.values()), sum(fn.values())),
        relevance=prf(rel["tp"], rel["fp"], rel["fn"]),
        true_negatives=rel["tn"], missing=tuple(missing), wrong=tuple(wrong))


def format_report(report: Report, show_errors: bool = True) -> str:
    """The report as the text table score.py prints."""
    lines = [f"{'type':24} {'P':>6} {'R':>6} {'F1':>6} {'tp':>4} {'fp':>4} {'fn':>4}"]
    for t, s in report.per_type.items():
        lines.append(f"{t:24} {s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f} "
                     f"{s.tp:4} {s.fp:4} {s.fn:4}")
    m = report.micro
    lines.append(f"{'ALL (micro)':24} {m.precision:6.3f} {m.recall:6.3f} {m.f1:6.3f} "
                 f"{m.tp:4} {m.fp:4} {m.fn:4}")
    r = report.relevance
    lines.append(f"relevance: P {r.precision:.3f} R {r.recall:.3f} F1 {r.f1:.3f} "
                 f"(tp {r.tp} fp {r.fp} fn {r.fn} tn {report.true_negatives})")
    if report.missing:
        lines.append(f"no usable prediction for {len(report.missing)} items: "
                     f"{', '.join(report.missing[:10])}")
    if show_errors:
        for w in report.wrong:
            rel = "" if w.relevant_want == w.relevant_got else \
                f" relevant {w.relevant_want}->{w.relevant_got}"
            lines.append(f"  {w.id}: want {list(w.want)} got {list(w.got)}{rel}  | "
                         f"{w.title[:90]}")
    lines.append(f"milestone micro-F1 {m.f1:.3f} relevance F1 {r.f1:.3f}")
    return "\n".join(lines)
