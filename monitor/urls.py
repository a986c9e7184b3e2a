"""Canonical URLs: tracking parameters and fragments removed, scheme and host lower-cased.

One rule for the whole product: an item's identity (the parser), stories across feeds, and
syndicated copies collapsed in an alert (the renderer) all read a URL through it."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that identify a campaign or a click, not a document.
_TRACKING_EXACT = frozenset({
    "fbclid", "gclid", "yclid", "dclid", "msclkid", "igshid", "mc_cid", "mc_eid", "_hsenc",
    "_hsmi", "mkt_tok", "ref", "ref_src", "ref_url", "referer", "referrer", "source", "src",
    "cmpid", "ncid", "ocid", "sr_share", "at_medium", "at_campaign", "at_custom1", "at_custom2",
    "at_custom3", "at_custom4", "rss", "partner", "feature", "spm", "_ga",
})
_TRACKING_PREFIXES = ("utm_", "pk_", "piwik_", "mtm_", "at_")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(name: str) -> bool:
    key = name.lower()
    return key in _TRACKING_EXACT or key.startswith(_TRACKING_PREFIXES)


# A URL that w3lib would leave as it is once its fragment and tracking query are gone: lower-case
# http(s) scheme and host (no port, no user, no punycode), a path of characters w3lib never
# escapes, with no "%", no ";" (params) and no dot segment. Most news links look like this.
_PLAIN = re.compile(r"(https?)://([a-z0-9-]+(?:\.[a-z0-9-]+)*)(/[A-Za-z0-9\-._~!$&'()*+,=:@/]*)?"
                    r"(?:\?([^#]*))?(?:#.*)?", re.DOTALL)
_DOT_SEGMENT = re.compile(r"/\.\.?(?:/|$)")
# A host ending in a number ("1.2.3.4", "0x7f.1", "2130706433") is an IPv4 address to the URL
# Standard, which a later w3lib may normalise: those take the full path.
_NUMERIC_END = re.compile(r"(?:^|\.)[0-9][^.]*$").search


def canonical_url(url: str) -> str:
    """The URL without tracking parameters or fragment, lower-case scheme and host, sorted query.

    Non-http(s) or unparsable URLs come back stripped but otherwise unchanged. Never raises.
    """
    url = url.strip()
    plain = _PLAIN.fullmatch(url)
    if plain is not None and "xn--" not in plain[2] and not _NUMERIC_END(plain[2]) and (
            plain[4] is None or not any(not _is_tracking(k) for k, _v in
                                        parse_qsl(plain[4], keep_blank_values=True))):
        path = plain[3] or "/"
        if not _DOT_SEGMENT.search(path):
            return f"{plain[1]}://{plain[2]}{path}"
    return _canonical(url)


def _canonical(url: str) -> str:
    """canonical_url without its shortcut (tests compare the two)."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or not parts.hostname:
            return url
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                 if not _is_tracking(k)]
        host = parts.hostname.lower().rstrip(".")
        if ":" in host:                                  # IPv6 literal
            host = f"[{host}]"
        port = parts.port
        netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
        if parts.username or parts.password:
            netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
        path = parts.path or "/"
        rebuilt = urlunsplit((scheme, netloc, path, urlencode(query), ""))
        # (imported here: most URLs take the shortcut, and the daemon loads no parser code)
        from w3lib.url import canonicalize_url

        return canonicalize_url(rebuilt, keep_fragments=False)
    except ValueError:       # bad port, bad IPv6 literal...
        return url

