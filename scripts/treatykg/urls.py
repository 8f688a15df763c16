"""What makes a URL usable as an HTTP(S) endpoint: one rule for every command that takes one.

``query --endpoint``, ``load --endpoint`` (and its ``--query-url``…) and ``link --endpoint``
each refuse, in one line and before any request, a URL that the HTTP client would choke on.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def url_problem(url: str) -> str | None:
    """Return why ``url`` cannot be an http(s) endpoint, or None when it can.

    >>> url_problem("http://127.0.0.1:7878/query") is None
    True
    >>> url_problem("http://127.0.0.1:78;/query")
    'bad port'
    >>> url_problem("http://\\x1b:1/query")
    'it holds white space or a control character'
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError as error:  # also an unclosed "[" of an IPv6 address
        return "bad port" if "port" in str(error).lower() else "bad host"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "expected http://HOST[:PORT]/..."
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        return "it holds white space or a control character"
    if not parts.netloc.isascii():
        return "write its host name in ASCII, an international name in its xn-- form"
    return None
