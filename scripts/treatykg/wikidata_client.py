"""Asking a Wikidata-shaped SPARQL endpoint, politely.

Wikimedia's policies ask every client for a descriptive User-Agent and ask bots to slow down
when told to. :class:`SparqlClient` therefore

- sends ``User-Agent: treatykg/<version> (https://w3id.org/treatykg; linked-data tool)``;
- gives up on one request after ``timeout`` seconds;
- answers HTTP 429 (too many requests) and 503 (unavailable) by waiting and trying again, up to
  ``retries`` times, waiting as long as the server's ``Retry-After`` header says (seconds or an
  HTTP date) or else 1, 2, 4 … seconds; a ``Retry-After`` longer than ``max_wait`` ends the run
  rather than leaving a user staring at a silent terminal;
- turns every failure into one :class:`EndpointError` line ("cannot reach …", "… answered HTTP
  500 …"), exit code 2;
- talks to a server on this machine (127.0.0.0/8, ``localhost``, ``::1``) directly, whatever
  proxy the environment names, so that a test server or a local mirror is never sent through a
  proxy.

The bytes travel by httpx, the HTTP client :mod:`treatykg.remote_store` uses too; the polite
retry rules above are this module's own, visible and testable: a test points the client at a tiny
``http.server`` that answers 429 and then 200.
"""

from __future__ import annotations

import contextlib
import email.utils
import ipaddress
import json
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from treatykg import __version__
from treatykg.errors import TreatyKGError
from treatykg.urls import url_problem

WIKIDATA_SPARQL = "https://query.wikidata.org/sparql"
"""The Wikidata Query Service, the default endpoint."""

USER_AGENT = f"treatykg/{__version__} (https://w3id.org/treatykg; linked-data tool)"
"""Sent with every request, as https://meta.wikimedia.org/wiki/User-Agent_policy asks."""

RETRY_STATUSES = frozenset({429, 503})


class EndpointError(TreatyKGError):
    """The SPARQL endpoint could not be reached or did not answer usefully (exit code 2)."""


def is_loopback(host: str | None) -> bool:
    """Return True for ``localhost`` and the loopback addresses (127.0.0.0/8, ``::1``).

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("::1")
    (True, True, True)
    >>> is_loopback("query.example.org")
    False
    """
    name = (host or "").strip("[]").lower()
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(name).is_loopback
    return name == "localhost"


@dataclass(frozen=True)
class Term:
    """One RDF term of a SPARQL JSON result: ``kind`` is ``uri``, ``literal`` or ``bnode``."""

    kind: str
    value: str
    lang: str | None = None
    datatype: str | None = None

    @property
    def is_iri(self) -> bool:
        return self.kind == "uri"


Row = dict[str, Term]


def retry_after_seconds(header: str | None, now: datetime | None = None) -> float | None:
    """Return the wait a ``Retry-After`` header asks for, in seconds, or None if absent or bad.

    >>> retry_after_seconds("3")
    3.0
    >>> retry_after_seconds("Wed, 21 Oct 2015 07:28:05 GMT",
    ...                     now=datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC))
    5.0
    >>> retry_after_seconds("soon") is None
    True
    """
    if header is None:
        return None
    text = header.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _why(error: BaseException) -> str:
    """The operating system's words for a failed connection, found under httpx's error."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror
        cause = cause.__cause__ or cause.__context__
    return str(error) or type(error).__name__


class SparqlClient:
    """A SPARQL 1.1 protocol client for one endpoint (SELECT and ASK, JSON results).

    >>> client = SparqlClient("http://127.0.0.1:1/sparql", timeout=2)
    >>> client.endpoint
    'http://127.0.0.1:1/sparql'
    """

    def __init__(
        self,
        endpoint: str = WIKIDATA_SPARQL,
        *,
        timeout: float = 60.0,
        retries: int = 4,
        max_wait: float = 120.0,
        user_agent: str = USER_AGENT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        try:
            parsed = urllib.parse.urlsplit(endpoint)
            host = parsed.hostname
        except ValueError:  # e.g. an unclosed "[" of an IPv6 address
            parsed, host = None, None
        if parsed is None or parsed.scheme not in ("http", "https") or not host:
            raise EndpointError(f"not an http(s) endpoint URL: {endpoint!r}")
        problem = url_problem(endpoint)
        if problem is not None:  # a control character, a host name that is not ASCII
            raise EndpointError(f"not an http(s) endpoint URL: {endpoint!r} ({problem})")
        try:
            httpx.URL(endpoint)  # what the client will send
        except httpx.InvalidURL as error:
            reason = " ".join(str(error).split()).rstrip(".")
            raise EndpointError(f"not an http(s) endpoint URL: {endpoint!r} ({reason})") from None
        self.endpoint = endpoint
        self.timeout = timeout
        self.retries = retries
        self.max_wait = max_wait
        self.user_agent = user_agent
        self._sleep = sleep
        # No proxy for this machine's own servers; the environment's proxies otherwise.
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout),
            trust_env=not is_loopback(host),
            follow_redirects=True,
            headers={"User-Agent": user_agent},
        )
        self.requests_sent = 0
        """How many HTTP requests were made (retries included); tests read it."""

    def _backoff(self, attempt: int, retry_after: str | None, status: int) -> None:
        wait = retry_after_seconds(retry_after)
        if wait is None:
            wait = float(2**attempt)
        if wait > self.max_wait:
            raise EndpointError(
                f"{self.endpoint} answered HTTP {status} and asks to wait {wait:.0f} s "
                f"(more than {self.max_wait:.0f} s); try again later"
            )
        self._sleep(wait)

    def _fetch(self, query: str) -> bytes:
        for attempt in range(self.retries + 1):
            self.requests_sent += 1
            try:
                reply = self._http.post(
                    self.endpoint,
                    content=urllib.parse.urlencode({"query": query}).encode("utf-8"),
                    headers={
                        "Accept": "application/sparql-results+json",
                        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                    },
                )
            except httpx.TimeoutException:
                raise EndpointError(
                    f"{self.endpoint} did not answer within {self.timeout:g} s"
                ) from None
            except httpx.RemoteProtocolError as error:
                if "without sending complete message body" in str(error):
                    raise EndpointError(f"{self.endpoint} broke off its answer") from None
                raise EndpointError(f"cannot reach {self.endpoint}: {_why(error)}") from None
            except (httpx.HTTPError, httpx.InvalidURL) as error:
                raise EndpointError(f"cannot reach {self.endpoint}: {_why(error)}") from None
            if reply.status_code < 400:
                return reply.content
            if reply.status_code in RETRY_STATUSES and attempt < self.retries:
                self._backoff(attempt, reply.headers.get("Retry-After"), reply.status_code)
                continue
            detail = reply.content[:300].decode("utf-8", "replace").strip().splitlines()
            first = f": {detail[0][:200]}" if detail else ""
            raise EndpointError(
                f"{self.endpoint} answered HTTP {reply.status_code} {reply.reason_phrase}{first}"
            )
        raise EndpointError(f"{self.endpoint} kept answering 429/503; try again later")

    def _results(self, query: str) -> dict:
        raw = self._fetch(query)
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise EndpointError(
                f"{self.endpoint} did not answer with SPARQL JSON results"
            ) from None

    def select(self, query: str) -> list[Row]:
        """Run a SELECT query; return one dict per solution, unbound variables left out."""
        data = self._results(query)
        try:
            bindings = data["results"]["bindings"]
        except (KeyError, TypeError):
            raise EndpointError(f"{self.endpoint} answered without SELECT results") from None
        rows: list[Row] = []
        for binding in bindings:
            row: Row = {}
            for name, value in binding.items():
                kind = value.get("type", "literal")
                if kind == "typed-literal":  # SPARQL JSON of some older servers
                    kind = "literal"
                row[name] = Term(
                    kind, value.get("value", ""), value.get("xml:lang"), value.get("datatype")
                )
            rows.append(row)
        return rows

    def ask(self, query: str) -> bool:
        """Run an ASK query."""
        data = self._results(query)
        if not isinstance(data, dict) or "boolean" not in data:
            raise EndpointError(f"{self.endpoint} answered without an ASK result")
        return bool(data["boolean"])
