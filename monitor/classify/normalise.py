"""Text normalisation, sentence splitting and tokenisation for the classifier.

Everything here is pure and cheap: the classifier runs it on every item, so the hot
paths avoid per-character Python loops (``str.translate`` and compiled regexes only).

A token is a run of Latin or Cyrillic letters and digits; hyphens and punctuation split
tokens, an apostrophe inside a word does not (Belarusian ``з'ехаць``), and the English
possessive ``'s`` is dropped (``Belarus's`` -> ``belarus``). ``U.S.`` and ``US`` become ``USA``.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

import Stemmer

from monitor.classify.offsets import Edit, OffsetMap, sub_mapped

# Quotes, dashes and apostrophe look-alikes folded to one form each.
_PUNCT = {
    "\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u02b9": "'", "\u0060": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"', "\u2039": '"',
    "\u203a": '"', "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
    "\u2015": "-", "\u2212": "-", "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u200b": "",
    "\u00ad": "", "\u0451": "\u0435", "\u0401": "\u0415",  # ё -> е
}


@lru_cache(maxsize=1)
def _fold_table() -> dict[int, str]:
    """Punctuation folding plus Latin diacritics stripped (é -> e); Cyrillic is kept."""
    table: dict[int, str] = {ord(k): v for k, v in _PUNCT.items()}
    for cp in range(0x00C0, 0x0250):
        ch = chr(cp)
        decomp = unicodedata.normalize("NFKD", ch)
        base = "".join(c for c in decomp if not unicodedata.combining(c))
        if base and base != ch and base.isascii():
            table[cp] = base
    table[ord("ł")] = "l"
    table[ord("Ł")] = "L"
    table[ord("ø")] = "o"
    table[ord("ß")] = "ss"
    return table


_TAG_RE = re.compile(r"<[^>]{0,500}>")
# Both patterns open with a literal so that the regex engine can skip ahead to it;
# "U(?<!\wU)" is "\bU" and "'(?<=[A-Za-z]')" is "(?<=[A-Za-z])'".
_US_RE = re.compile(r"U(?<!\wU)(?:\.\s?S\.(?:\s?A\.)?|S\b)")
_POSSESSIVE_RE = re.compile(r"'(?<=[A-Za-z]')s\b", re.IGNORECASE)
TOKEN_RE = re.compile(r"[0-9a-z\u0430-\u044f\u0456\u045e]+(?:'[0-9a-z\u0430-\u044f\u0456\u045e]+)*")
_SENT_RE = re.compile(r"(?<=[.!?…])[\"')\]]*\s+(?=[\"'(\[]*[A-Z\u0410-\u042f\u0406\u040e0-9])"
                      r"|\s*\n\s*\n\s*|(?<=[.!?…])\s*\n\s*")
_ABBREV = frozenset({
    "mr", "mrs", "ms", "dr", "st", "gen", "lt", "col", "sen", "rep", "gov", "jan", "feb", "mar",
    "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "no", "vs", "jr", "sr", "mt",
    "г", "гг", "т", "им", "ул", "пр", "тыс", "млн", "млрд", "см", "др", "ст", "inc", "corp", "co",
})
_ASCII_TOKEN_BYTES = bytes(c if chr(c) in "0123456789abcdefghijklmnopqrstuvwxyz'" else 32
                           for c in range(256))
_BE_RE = re.compile("[іўІЎ]")
_CYR_RE = re.compile("[\u0400-\u04ff]+")     # runs: a count of letters with few matches
_LATIN_RE = re.compile("[A-Za-z]+")


def clean(text: str) -> str:
    """Leftover HTML removed, NFKC, quotes/dashes/ё folded; case is kept."""
    return _clean(text, None)


def clean_mapped(text: str) -> tuple[str, OffsetMap]:
    """``clean(text)`` and the map from its positions back to ``text``'s."""
    omap = OffsetMap()
    return _clean(text, omap), omap


def _clean(text: str, omap: OffsetMap | None) -> str:
    if not text:
        return ""
    if "&" in text:
        text = html.unescape(text) if omap is None else _mapped(_CHARREF, _unescape, text, omap)
    if "<" in text:
        text = _TAG_RE.sub(" ", text) if omap is None else _mapped(_TAG_RE, " ", text, omap)
    if not text.isascii():
        if not unicodedata.is_normalized("NFKC", text):
            text = _nfkc(text, omap)
        text = _fold(text, omap)
    # upper-case "US" is the country, lower-case "us" the pronoun
    if "US" in text or "U." in text:
        text = _US_RE.sub("USA", text) if omap is None else _mapped(_US_RE, "USA", text, omap)
    if "'" in text:
        text = _POSSESSIVE_RE.sub("", text) if omap is None else _mapped(
            _POSSESSIVE_RE, "", text, omap)
    return text


# html.unescape's own pattern: replacing each match by ``html.unescape(match)`` is what
# ``html.unescape`` does to the whole text.
_CHARREF = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")
# what NFKC may change: a character it rewrites by itself (no-break space, ligatures,
# full-width forms...), or any character with the combining marks after it (which it may
# compose); everything else is left alone without a look (see ``_nfkc_pattern``)
_COMBINING = ("\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff"
              "\ufe20-\ufe2f")


@lru_cache(maxsize=1)
def _nfkc_pattern() -> re.Pattern[str]:
    changed = "".join(re.escape(chr(c)) for c in range(0x80, 0x10000)
                      if not 0xD800 <= c <= 0xDFFF
                      and unicodedata.normalize("NFKC", chr(c)) != chr(c))
    return re.compile(f"(?s).[{_COMBINING}]+|[{changed}]")


def _unescape(m: re.Match[str]) -> str:
    return html.unescape(m.group(0))


def _nfkc_run(m: re.Match[str]) -> str:
    run = m.group(0)
    return run if unicodedata.is_normalized("NFKC", run) else unicodedata.normalize("NFKC", run)


def _nfkc(text: str, omap: OffsetMap | None) -> str:
    if omap is None:
        return _nfkc_pattern().sub(_nfkc_run, text)
    return _mapped(_nfkc_pattern(), _nfkc_run, text, omap)


def _mapped(pattern: re.Pattern[str], repl: str | Callable[[re.Match[str]], str], text: str,
            omap: OffsetMap) -> str:
    edits: list[Edit] = []
    out = sub_mapped(pattern, repl, text, edits)
    omap.add(edits)
    return out


def _fold(text: str, omap: OffsetMap | None = None) -> str:
    """``text.translate(_fold_table())``, but quicker: ``str.translate`` with a dict looks up
    every character, while the characters to fold are rare; the regex finds them."""
    table, pattern = _fold_regex()
    if omap is not None:
        # only the few foldings that change the length ("ß" -> "ss") move positions
        omap.add([(m.start(), m.end(), len(table[m.group()])) for m in pattern.finditer(text)
                  if len(table[m.group()]) != 1])
    # A few distinct characters (curly quotes, dashes) recur: one ``replace`` each beats a
    # Python callback per occurrence. No replacement contains a character of the table,
    # so the order of the replacements does not matter.
    for ch in set(pattern.findall(text)):
        text = text.replace(ch, table[ch])
    return text


@lru_cache(maxsize=1)
def _fold_regex() -> tuple[dict[str, str], re.Pattern[str]]:
    table = {chr(k): v for k, v in _fold_table().items()}
    return table, re.compile("[" + "".join(re.escape(c) for c in sorted(table)) + "]")


def split_sentences(text: str) -> list[str]:
    """Sentences of a cleaned text; abbreviations and initials do not end a sentence."""
    return [text[a:b] for a, b in sentence_spans(text)]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``[start, end)`` of each sentence of a cleaned text, surrounding spaces excluded."""
    spans: list[tuple[int, int]] = []
    last = 0
    for m in _SENT_RE.finditer(text):
        _add_sentence(text, last, m.start(), spans)
        last = m.end()
    _add_sentence(text, last, len(text), spans)
    return spans


def _add_sentence(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return
    start += len(piece) - len(piece.lstrip())
    end = start + len(stripped)
    if spans:
        prev = text[spans[-1][0]:spans[-1][1]]
        last = prev.rsplit(None, 1)[-1].rstrip(".").lower() if prev else ""
        if prev.endswith(".") and (last in _ABBREV or (len(last) == 1 and last.isalpha())):
            spans[-1] = (spans[-1][0], end)
            return
    spans.append((start, end))


def tokenise(sentence: str) -> list[str]:
    """Lower-cased (casefolded) tokens of one cleaned sentence."""
    return tokenise_lower(lower(sentence))


def lower(text: str) -> str:
    """``text`` case-folded, ``ё`` read as ``е``: what ``tokenise_lower`` takes."""
    text = text.casefold()
    return text if text.isascii() else text.replace("ё", "е")


def lower_mapped(text: str, omap: OffsetMap) -> str:
    """``lower(text)``, recording in ``omap`` the few characters whose case folding is longer
    than one character ("İ")."""
    out = lower(text)
    if len(out) != len(text):
        omap.add([(i, i + 1, len(c.casefold())) for i, c in enumerate(text)
                  if len(c.casefold()) != 1])
    return out


def tokenise_lower(text: str) -> list[str]:
    """Tokens of a text already passed through ``lower``."""
    if not text.isascii():
        return TOKEN_RE.findall(text)
    # ASCII (most of a news stream): bytes.translate + split is quicker than the regex.
    # Every piece without an apostrophe is a whole token; a piece with one goes through
    # the regex, which cannot look past the piece's ends (they are not token characters).
    parts = text.encode("ascii").translate(_ASCII_TOKEN_BYTES).decode("ascii").split()
    if "'" not in text:
        return parts
    out: list[str] = []
    for part in parts:
        if "'" in part:
            out.extend(TOKEN_RE.findall(part))
        else:
            out.append(part)
    return out


# Belarusian is written in two orthographies: the official one and the classical
# Taraškievica ("Менск", "сьпіс", "зьнятыя", "вязьні", "амэрыканскі", "Сэнат"). Belarusian
# tokens are folded to one spelling before matching, and the watchlist's Cyrillic words get
# the same folded variant, so one form per word covers both: the soft sign that only marks
# assimilative softness before another consonant is dropped, "э" is read as "е", and a
# word-initial "ў" (after a vowel) as "у".
BE_SOFT_RE = re.compile("ь(?=[бвгджзйклмнпрстфхцчшщў])")


def fold_be(token: str) -> str:
    """One spelling for the two Belarusian orthographies (see above)."""
    if "ь" in token:
        token = BE_SOFT_RE.sub("", token)
    if "э" in token:
        token = token.replace("э", "е")
    if token.startswith("ў"):
        token = "у" + token[1:]
    return token


def fold_tokens(tokens: list[str], lang: str) -> list[str]:
    """``tokens`` with Belarusian spellings folded (only for Belarusian items)."""
    if lang != "be":
        return tokens
    return [fold_be(t) if ("ь" in t or "э" in t or t.startswith("ў")) else t for t in tokens]


def has_belarusian_letters(text: str) -> bool:
    """Whether the first 2,000 characters hold an ``і`` or ``ў``: exactly when
    ``detect_language(text)`` (no declared language) says ``be``."""
    return _BE_RE.search(text, 0, 2000) is not None


def detect_language(text: str, declared: str | None = None) -> str:
    """``en``, ``ru`` or ``be``: declared language if usable, else guessed from the script
    (any ``і``/``ў`` in the first 2,000 characters: Belarusian; else more Cyrillic letters
    than Latin ones: Russian)."""
    if declared:
        code = declared.strip().lower()[:2]
        if code in ("en", "ru", "be"):
            return code
    head = text[:2000]
    if head.isascii():          # no Cyrillic at all: the counts below would say "en"
        return "en"
    if has_belarusian_letters(head):
        return "be"
    cyr = sum(map(len, _CYR_RE.findall(head)))
    return "ru" if cyr > sum(map(len, _LATIN_RE.findall(head))) else "en"


# --- stemming ------------------------------------------------------------------------------

# Belarusian has no Snowball stemmer: strip the longest inflectional ending from this list,
# keeping at least three letters of stem. Crude, but the same function runs on the
# watchlist's triggers and on the text, so both sides agree; names get explicit forms.
_BE_ENDINGS = tuple(sorted({
    "амі", "ямі", "ымі", "імі", "аго", "ага", "яга", "ога", "аму", "яму", "ому", "ыму", "іму",
    "ыя", "ія", "ых", "іх", "ым", "ім", "ай", "ей", "ой", "яй", "ую", "юю", "ае", "ое",
    "ее", "ая", "яя", "ам", "ям", "ом", "ем", "ах", "ях", "аў", "яў", "оў", "еў", "ою", "ёю", "ею",
    "ецца", "юцца", "уцца", "ацца", "яцца", "іцца", "ыцца", "ліся", "лася", "лося", "ўся",
    "аюць", "яюць", "уюць", "юць", "уць", "аць", "яць", "іць", "ыць", "эць", "ець", "ці", "ць",
    "ала", "яла", "іла", "ыла", "ела", "алі", "ялі", "ілі", "ылі", "елі", "іў", "ыў",
    "ла", "лі", "ло", "яе", "уе", "юе", "ы", "і", "а", "я", "у", "ю", "е", "о", "ь",
    "ка", "кі", "ку", "кай", "цы",
}, key=len, reverse=True))
_KEEP = frozenset({"после", "пасля", "посл", "пасл", "было", "были", "быў", "была"})

_STEMMERS: dict[str, Stemmer.Stemmer] = {}


def _snowball(lang: str) -> Stemmer.Stemmer:
    st = _STEMMERS.get(lang)
    if st is None:
        st = _STEMMERS[lang] = Stemmer.Stemmer({"en": "english", "ru": "russian"}[lang])
    return st


def stem_be(token: str) -> str:
    """Belarusian light stemmer (suffix stripping, stem of three letters or more)."""
    if token in _KEEP:
        return token
    for end in _BE_ENDINGS:
        if token.endswith(end) and len(token) - len(end) >= 3:
            return token[: -len(end)]
    return token


def stem(token: str, lang: str) -> str:
    """Stem of one token: English Snowball for Latin, Russian Snowball or the Belarusian
    stripper for Cyrillic, the token itself for digits."""
    if token in _KEEP:
        return token
    first = token[0]
    if "a" <= first <= "z":
        return str(_snowball("en").stemWord(token))
    if first.isdigit():
        return token
    if lang == "be" or "і" in token or "ў" in token:
        return stem_be(token)
    return str(_snowball("ru").stemWord(token))


def is_cyrillic(word: str) -> bool:
    return any("\u0400" <= ch <= "\u04ff" for ch in word)
