"""The parser's (and the language guess's) shortcuts give what the plain versions gave.

Each shortcut skips work that cannot change its result (a substitution of " " by " ", a
translation of text holding none of the map's keys, a scan past the 30th word). The plain
versions are kept here as references and compared on generated text, weighted towards the
characters each shortcut is about, and on every text field of the shared corpus.
"""

from __future__ import annotations

import hashlib
import re
from itertools import islice
from pathlib import Path

import lxml.etree
import pytest
from feedparser.html import _cp1252
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.classify import normalise
from monitor.parse import fast, items, text

_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_WORDS = re.compile(r"\w+", re.UNICODE)


def collapse_reference(value: str) -> str:
    lines = (line.strip() for line in _SPACES.sub(" ", value).split("\n"))
    return "\n".join(line for line in lines if line)


def fix_reference(value: str) -> str:
    if value.isascii():
        return value
    try:
        value = value.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    return value.translate(_cp1252)


def script_guess_reference(value: str) -> str:
    head = value[:2000]
    if head.isascii():
        return "en"
    if re.search("[іўІЎ]", head):
        return "be"
    cyr = len(re.findall("[\u0400-\u04ff]", head))
    return "ru" if cyr > len(re.findall("[A-Za-z]", head)) else "en"


def fingerprint_reference(title: str, summary: str) -> str:
    words = _WORDS.findall(title.lower()) + [
        m.group() for m in islice(_WORDS.finditer(summary[:2000].lower()), 30)]
    return hashlib.sha1(" ".join(words).encode("utf-8")).hexdigest()


# Spaces of every kind, line breaks, C1 controls, Latin-1, UTF-8 read as Latin-1 ("Ã©"),
# Cyrillic, a dotted capital I (lower() makes it two characters), a capital sigma (its
# lower case depends on what follows), words and punctuation.
_ALPHABET = st.sampled_from([
    " ", "  ", "\t", "\r", "\n", "\f", "\v", "\u00a0", "\u2003", "\u200b", "\u202f", "\u3000",
    "\x80", "\x85", "\x93", "\x9d", "\x9f", "é", "Ã", "©", "Â", "\xad", "ÿ", "д", "ў", "İ",
    "Σ", "ΣΑ",
    "a", "Word", "ABC", "9", "_", ".", ",", "—", "'", "x" * 40, "й" * 25,
])
_TEXT = st.lists(_ALPHABET, max_size=200).map("".join)
_SETTINGS = settings(max_examples=600, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(_TEXT)
def test_collapse_matches_the_plain_version(value: str) -> None:
    assert text._collapse(value) == collapse_reference(value)


@_SETTINGS
@given(_TEXT)
def test_fix_matches_feedparsers_steps(value: str) -> None:
    assert fast._fix(value) == fix_reference(value)


@_SETTINGS
@given(_TEXT, _TEXT, st.integers(0, 500))
def test_fingerprint_matches_the_plain_version(title: str, summary: str, pad: int) -> None:
    summary = "w " * pad + summary          # the 30th word before, at and after the cut
    assert items.fingerprint(title, summary) == fingerprint_reference(title, summary)


CORPUS = Path(__file__).resolve().parents[2] / "shared" / "feeds-corpus"


@pytest.fixture(scope="module")
def corpus_texts() -> list[str]:
    """Every element text and tail of the corpus files lxml can read, as lxml decoded it."""
    if not CORPUS.is_dir():
        pytest.skip(f"{CORPUS} is missing (the shared feed corpus)")
    parser = lxml.etree.XMLParser(recover=True, resolve_entities=False, no_network=True)
    out: list[str] = []
    for path in sorted(CORPUS.iterdir()):
        try:
            root = lxml.etree.fromstring(path.read_bytes(), parser)
        except (lxml.etree.LxmlError, ValueError):
            continue
        if root is None:
            continue
        for element in root.iter():
            out.extend(v for v in (element.text, element.tail) if v and v.strip())
    return out


@_SETTINGS
@given(_TEXT)
def test_script_guess_counts_letters_as_before(value: str) -> None:
    assert normalise.detect_language(value) == script_guess_reference(value)


def test_fingerprint_with_a_final_sigma_at_the_cut() -> None:
    """A capital sigma lower-cases to final ς when no cased letter follows (case-ignorable
    characters such as "." and "ʰ" are skipped when looking): cutting before lower-casing
    would change the 30th word. Found in review."""
    summary = "w " * 29 + "ΑΣ." + "ʰ" * 380 + "a"
    assert items.fingerprint("t", summary) == fingerprint_reference("t", summary)


def test_shortcuts_on_the_corpus(corpus_texts: list[str]) -> None:
    assert len(corpus_texts) > 5000
    for value in corpus_texts:
        assert text._collapse(value) == collapse_reference(value)
        assert fast._fix(value) == fix_reference(value)
        assert normalise.detect_language(value) == script_guess_reference(value)
        assert items.fingerprint(value[:200], value) == fingerprint_reference(value[:200], value)
