"""Plain text from feed fields: HTML to text, language tags, a script-based language guess."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

import lxml.etree

MAX_TITLE = 2_000
MAX_TEXT = 100_000
MAX_HTML_INPUT = 2_000_000          # characters of markup we are willing to parse per field

_DROP_TAGS = frozenset({"script", "style", "noscript", "template", "head", "iframe", "object",
                        "embed", "svg", "math", "form", "button", "select", "textarea"})
_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
    "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    "body", "html",
})
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_ASCII_CONTROLS = bytes(c for c in range(128) if CONTROL_CHARS.match(chr(c)))
# Runs of horizontal space become one " ". The pattern leaves a lone " " alone (it would be
# replaced by itself), so ordinary prose costs no substitution at all.
_SPACE_CLASS = "\t\r\f\v\u00a0\u2000-\u200b\u202f\u205f\u3000"
_SPACE_RUNS = re.compile(f"[ {_SPACE_CLASS}]{{2,}}|[{_SPACE_CLASS}]")
_OTHER_SPACE = re.compile(f"[{_SPACE_CLASS}]")
TAG_LIKE = re.compile(r"<[a-zA-Z/!]")
_TAG = re.compile(r"<[^>]*>")
# Parsing HTML with lxml: no network, no DTD, comments and PIs dropped. Nothing is executed.
# lxml.etree's parser, not lxml.html's: the latter calls back into Python for every element
# to pick its class, and we only read text.
_HTML_PARSER = lxml.etree.HTMLParser(remove_comments=True, remove_pis=True, no_network=True,
                                     recover=True, default_doctype=False)


def strip_controls(text: str) -> str:
    """``CONTROL_CHARS.sub("", text)``; ASCII text through ``bytes.translate``, which does
    not run the regex engine (an ASCII string holds no surrogate)."""
    if text.isascii():
        data = text.encode("ascii")
        kept = data.translate(None, _ASCII_CONTROLS)
        return text if len(kept) == len(data) else kept.decode("ascii")
    return CONTROL_CHARS.sub("", text)


def _collapse(text: str) -> str:
    """Spaces collapsed, lines stripped, empty lines dropped."""
    # Else there is nothing to collapse. In ASCII text the only other spaces are four
    # characters, found by ``in`` faster than by the regex.
    if "  " in text or (
            ("\t" in text or "\r" in text or "\f" in text or "\v" in text) if text.isascii()
            else _OTHER_SPACE.search(text)):
        text = _SPACE_RUNS.sub(" ", text)
    if "\n" not in text:
        return text.strip()
    return "\n".join(filter(None, map(str.strip, text.split("\n"))))


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment: scripts and styles dropped, images' alt text kept, blocks
    on their own lines.

    Entities are decoded and whitespace collapsed. Never raises.
    """
    if not markup:
        return ""
    markup = strip_controls(markup[:MAX_HTML_INPUT])
    if not TAG_LIKE.search(markup):
        return _collapse(html.unescape(markup) if "&" in markup else markup)
    try:
        root = lxml.etree.fromstring(f"<html><body>{markup}</body></html>", parser=_HTML_PARSER)
    except (lxml.etree.LxmlError, ValueError):
        root = None
    if root is None:
        return _collapse(html.unescape(_TAG.sub(" ", markup)))
    return _collapse(_text(root))


def _text(root: Any) -> str:
    """The tree's text in document order, images' alt text included, a line break at each end
    of a block; the elements to drop are skipped but their tail text kept. Reads the tree,
    never changes it (setting lxml text nodes costs more than the walk)."""
    out: list[str] = []
    walk = lxml.etree.iterwalk(root, events=("start", "end"))
    for event, element in walk:
        tag = element.tag
        if event == "start":
            if tag in _DROP_TAGS:
                walk.skip_subtree()   # its "end" still comes, for the tail
                continue
            if tag in _BLOCK_TAGS:
                out.append("\n")
            text = element.text
            if text:
                out.append(text)
            if tag == "img":
                # An image's alt text stands for it (a headline that is a picture of words, a
                # photo's caption); spaced, so that it never joins the words around it.
                alt = element.get("alt")
                if alt:
                    out.append(f" {alt} ")
        elif element is root:
            break
        else:
            if tag in _BLOCK_TAGS:
                out.append("\n")
            tail = element.tail
            if tail:
                out.append(tail)
    return "".join(out)


def field_text(value: str | None, detail: Mapping[str, Any] | None = None, limit: int = MAX_TEXT) -> str:
    """Plain text of a feed field, whether the feed called it HTML or text."""
    if not value:
        return ""
    kind = str((detail or {}).get("type") or "")
    if "html" in kind or TAG_LIKE.search(value):
        text = html_to_text(value)
    else:
        # Publishers often double-escape ("&amp;#8211;"), so decode once more.
        text = _collapse(html.unescape(strip_controls(value[:MAX_HTML_INPUT])))
    return text[:limit]


_LANGUAGE = re.compile(r"^\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*\s*$")
# Country codes publishers put in <language> ("US"); mapped to the language they mean.
_COUNTRY_AS_LANGUAGE = {"us": "en", "gb": "en"}


def language_tag(value: str | None) -> str | None:
    """The primary language subtag, lower-cased ("en-US" -> "en"), or None."""
    if not value:
        return None
    match = _LANGUAGE.match(value)
    if not match:
        return None
    primary = match.group(1).lower()
    return _COUNTRY_AS_LANGUAGE.get(primary, primary)


_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_ASCII_WORD = re.compile(r"[A-Za-z]+")
_ENGLISH_FUNCTION_WORDS = frozenset(
    ["the", "of", "and", "to", "in", "is", "for", "on", "with", "at", "by", "from", "as", "that", "this", "it", "was", "are", "be", "has", "have", "will", "after", "over", "says", "said", "new", "its", "an", "not", "who"])


def detect_language(text: str) -> str | None:
    """A guess from the script alone: "be", "uk", "ru", "en" or None when unsure."""
    sample = text[:4000]
    cyrillic = len(_CYRILLIC.findall(sample))
    latin = len(_LATIN.findall(sample))
    if cyrillic == 0 and latin == 0:
        return None
    if cyrillic > latin:
        # Belarusian writes і and ў but never и; Ukrainian writes і and и (and ї, є, ґ).
        lower = sample.lower()
        if "ў" in lower or ("і" in lower and "и" not in lower):
            return "be"
        if "і" in lower or any(ch in lower for ch in "їєґ"):
            return "uk"
        return "ru"
    words = _ASCII_WORD.findall(sample)
    ascii_letters = sum(len(w) for w in words)
    if ascii_letters < 0.97 * latin or not words:
        return None
    function_words = sum(1 for w in words if w.lower() in _ENGLISH_FUNCTION_WORDS)
    return "en" if function_words and function_words >= 0.05 * len(words) else None

