"""Robustness (any text classifies), watchlist errors, purity of imports, evaluation."""

from __future__ import annotations

import ast
import json
import textwrap
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.classify import Classifier, load_watchlist, load_watchlists
from monitor.errors import ConfigError
from monitor.evaluate import evaluate, format_report
from monitor.model import Classification, ItemText, MilestoneHit

REPO = Path(__file__).resolve().parents[1]
WATCHLIST = REPO / "config" / "watchlists" / "belarus-us.yaml"


@lru_cache(maxsize=1)
def classifier() -> Classifier:
    return Classifier(load_watchlists([WATCHLIST]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=st.text(), summary=st.text(), content=st.text(max_size=3000),
       language=st.one_of(st.none(), st.text(max_size=5), st.sampled_from(["en", "ru", "be"])))
def test_any_text_classifies(title: str, summary: str, content: str,
                             language: str | None) -> None:
    c = classifier().classify(ItemText("x", title, summary, content, language=language))
    assert isinstance(c, Classification)
    json.dumps(c.to_json())
    assert 0.0 <= c.score <= 1.0


@pytest.mark.parametrize("text", [
    "", " ", "\x00\x01", "&amp;&lt;<b>", "U.S." * 1000, "Belarus " * 50_000,
    "Лукашэнка і Трамп сустрэліся. " * 2000, "🇧🇾🇺🇸" * 100, "\u202e\u202d", "ё" * 10000,
])
def test_degenerate_and_huge_texts(text: str) -> None:
    c = classifier().classify(ItemText("x", text, text, text,
                                       published=datetime(2026, 1, 1, tzinfo=UTC)))
    assert c.id == "x"


def _write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "wl.yaml"
    p.write_text(textwrap.dedent(body), encoding="utf-8")
    return p


def _minimal(rule: str = "all: [t]") -> str:
    return f"""\
    name: test
    version: "1"
    sides: {{a: A, b: B}}
    relevance: {{sides: [a, b]}}
    actors:
      - {{id: x, name: X, side: a, aliases: [xland]}}
      - {{id: y, name: Y, side: b, aliases: [yland]}}
    terms: {{t: [meet]}}
    milestones:
      met:
        title: Met
        rules:
          - {{id: r, {rule}}}
    """


def test_minimal_watchlist_loads_and_works(tmp_path: Path) -> None:
    wl = load_watchlist(_write(tmp_path, _minimal("all: [t], sides: {a: sentence, b: sentence}")))
    c = Classifier([wl]).classify(ItemText("1", "Xland leaders meet Yland leaders"))
    assert c.relevant and [m.type for m in c.milestones] == ["met"]


@pytest.mark.parametrize(("rule", "key_path"), [
    ("all: [nope]", "milestones.met.rules[0].all"),
    ("all: [t], sides: {zz: sentence}", "milestones.met.rules[0].sides"),
    ("all: [t], bogus: 1", "milestones.met.rules[0].bogus"),
    ("all: []", "milestones.met.rules[0].all"),
    ("all: [t], sides: {a: everywhere}", "milestones.met.rules[0].sides.a"),
])
def test_watchlist_error_names_file_and_key_path(tmp_path: Path, rule: str,
                                                 key_path: str) -> None:
    path = _write(tmp_path, _minimal(rule))
    with pytest.raises(ConfigError) as exc:
        load_watchlist(path)
    assert exc.value.file == str(path)
    assert exc.value.key_path == key_path
    assert str(path) in str(exc.value) and key_path in str(exc.value)


def test_watchlist_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_watchlist(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="YAML"):
        load_watchlist(bad)
    bad.write_text(_minimal().replace("aliases: [xland]", "aliases: ['x* y']"),
                   encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_watchlist(bad)
    assert exc.value.key_path == "actors[0].aliases"
    p = _write(tmp_path, _minimal())
    with pytest.raises(ConfigError) as exc:
        load_watchlists([p, p])
    assert exc.value.key_path == "name"


def test_shipped_watchlist_has_every_contract_type() -> None:
    wl = load_watchlist(WATCHLIST)
    assert wl.name == "belarus-us" and wl.version
    assert set(wl.milestone_types) == {
        "relations_restored", "relations_downgraded", "ambassador_named",
        "ambassador_confirmed", "ambassador_arrived", "ambassador_expelled",
        "embassy_reopened", "embassy_closed", "diplomat_cap_changed", "sanctions_imposed",
        "sanctions_lifted", "prisoners_released", "high_level_contact"}
    for title, severity, _status in wl.milestone_types.values():
        assert title and severity in ("low", "medium", "high", "critical")


FORBIDDEN = {"httpx", "sqlalchemy", "smtplib", "apscheduler", "aiosmtplib", "requests",
             "urllib", "socket"}


def test_classify_core_imports_no_io_library() -> None:
    files = sorted((REPO / "monitor" / "classify").glob("*.py")) + [REPO / "monitor" / "evaluate.py"]
    assert files
    for f in files:
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for n in names:
                assert n.split(".")[0] not in FORBIDDEN, f"{f.name} imports {n}"


def test_evaluate_matches_score_semantics() -> None:
    gold = [
        {"id": "1", "title": "a", "relevant": True, "milestones": ["embassy_closed"],
         "also_ok": ["relations_downgraded"]},
        {"id": "2", "title": "b", "relevant": False, "milestones": [], "also_ok": []},
        {"id": "3", "title": "c", "relevant": True, "milestones": ["sanctions_imposed"]},
    ]
    hit = MilestoneHit("embassy_closed", "w", "completed", 0.9, "e")
    also = MilestoneHit("relations_downgraded", "w", "completed", 0.9, "e")
    wrong = MilestoneHit("sanctions_lifted", "w", "completed", 0.9, "e")
    preds = [Classification("1", True, 0.9, milestones=(hit, also)),
             Classification("2", True, 0.9, milestones=(wrong,))]
    r = evaluate(gold, preds)
    assert (r.micro.tp, r.micro.fp, r.micro.fn) == (1, 1, 1)
    assert "relations_downgraded" not in r.per_type
    assert (r.relevance.tp, r.relevance.fp, r.relevance.fn) == (1, 1, 1)
    assert r.missing == ("3",)
    text = format_report(r)
    assert "ALL (micro)" in text and text.endswith("milestone micro-F1 0.500 relevance F1 0.500")
    assert "2: want [] got ['sanctions_lifted']" in text


# --- fast paths must agree with the plain definitions they replace ----------------------

_TEXTS = st.one_of(st.text(max_size=3), st.sampled_from(
    list("abcAZsSU.' \n\t-\"',;:()[]!?…«»’ёЁіўІЎ0123456789") + ["US", "U.S.", "'s", "ß", "é",
                                                                  "—", "&amp;", "<b>", "Лук"]))


@settings(max_examples=500, deadline=None)
@given(text=st.lists(_TEXTS, max_size=40).map("".join))
def test_fast_tokenise_and_fold_match_the_regex(text: str) -> None:
    from monitor.classify import normalise

    folded = text.casefold()
    assert normalise.tokenise(text) == normalise.TOKEN_RE.findall(folded.replace("ё", "е"))
    assert normalise._fold(text) == text.translate(normalise._fold_table())


@settings(max_examples=300, deadline=None)
@given(title=st.lists(_TEXTS, max_size=20).map("".join),
       summary=st.lists(_TEXTS, max_size=60).map("".join))
def test_prepared_tokens_are_the_document_tokens(title: str, summary: str) -> None:
    """The gate scans the whole text's tokens; they must be the document's tokens."""
    from monitor.classify.document import build_document, prepare

    item = ItemText("x", title, summary)
    prep = prepare(item)
    doc = build_document(item, None, prep)
    assert prep.tokens == doc.tokens


def test_gate_skips_items_without_both_sides() -> None:
    clf = classifier()
    c = clf.classify(ItemText("x", "Washington weather", "Rain in Washington on Monday."))
    assert c == Classification("x", False, 0.0, versions=dict(clf.versions))


def _alias_words() -> list[str]:
    wl = load_watchlists([WATCHLIST])[0]
    words = {w.strip("=*") for a in wl.actors for al in a.aliases for w in al.split()}
    return sorted(w for w in words if w)


_GATE_PIECES = st.one_of(
    st.sampled_from(_alias_words()),
    st.sampled_from(["s", "es", "ed", "ing", "ly", "y", "ies", "ity", "ation", "'s", "ь", "э",
                     "ў", "у", "ы", "а", "ам", "ах", "ого", "ё", "É", "ß", "\u00ad", "&#1084;",
                     "U.S.", "US", "<i>", "-", " ", " ", ", ", ". ", "\n\n", "’"]),
    st.text(max_size=3))


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=st.lists(_GATE_PIECES, max_size=12).map("".join),
       summary=st.lists(_GATE_PIECES, max_size=30).map("".join),
       language=st.sampled_from([None, "en", "ru", "be"]))
def test_gate_precheck_never_rejects_what_the_exact_gate_passes(
        title: str, summary: str, language: str | None) -> None:
    """``may_pass`` (before tokenising) must be a sound over-approximation of ``passes``."""
    from monitor.classify.document import clean_item, item_text, prepare
    from monitor.classify.normalise import lower

    gate = classifier()._gate
    item = ItemText("x", title, summary, language=language)
    cleaned = clean_item(item)
    low = lower(item_text(cleaned[0], cleaned[1]))
    prep = prepare(item, cleaned, low)
    if gate.passes(prep.tokens, prep.stems, [0]):
        assert gate.may_pass(low, cleaned[2], [0])


@settings(max_examples=2000, deadline=None)
@given(word=st.text(alphabet="abcdeilnorstuy'", min_size=1, max_size=14))
def test_english_stem_literals_begin_the_word(word: str) -> None:
    """Snowball English only rewrites a word's end in the ways ``gate`` allows for."""
    from monitor.classify.gate import stem_literals
    from monitor.classify.normalise import stem

    if word[0] == "'":
        return
    s = stem(word, "en")
    if s:
        assert any(word.startswith(lit) for lit in stem_literals(s)), (word, s)


@settings(max_examples=2000, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(
    list("abz09 .,'-\n\t") + list("абвяжщъьэюёіўєїґ") + list("АБЯІЎЁ") + list("αβ中ü\u00a0\u2019")
    + ["\U0001f600", "\ufffd", "\x01", "?"]), max_size=40))
def test_marked_puts_a_separator_exactly_where_a_token_cannot_go_on(text: str) -> None:
    """``marked`` (bytes.translate, through cp1251 for non-ASCII text) equals the plain
    definition: every character outside the token alphabet becomes a separator."""
    import re

    from monitor.classify.gate import SEP, marked

    expected = SEP + re.sub("[^0-9a-z\u0430-\u044f\u0456\u045e]", SEP, text)
    assert marked(text) == expected
