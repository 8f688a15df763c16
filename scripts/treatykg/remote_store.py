"""Loading the graph into a remote SPARQL 1.1 store, and asking it how many triples it holds.

How a load works (``treatykg load``), and why:

1. Every file is parsed locally by the strict parser (:mod:`treatykg.loading`) before anything is
   sent: a bad file stops the load with ``path:line:column: message`` and the store is untouched.
   Each graph's triples are written as N-Triples into a private temporary folder named after the
   process (:mod:`treatykg.tempfiles`): removed at the end, or by the next treatykg command if
   this one was killed outright.
2. The triples in each target graph are counted (and, for ``--append``, how many of the local
   ones it already holds).
3. One SPARQL 1.1 Update request, streamed from the files, changes the store:
   ``DROP SILENT GRAPH <g> ; INSERT DATA { GRAPH <g> { … } }`` for every graph (``--replace``),
   or ``INSERT DATA`` only (``--append``). One request is one transaction in Oxigraph, Fuseki
   (TDB2), GraphDB and Virtuoso, so anyone querying the store meanwhile sees the old graphs or
   the new ones, never a mix and never anything half-loaded: nothing is staged in the store,
   where a union default graph would show it. Measured on Oxigraph 0.5.13: an update request
   cut off before its end, or whose last operation fails, leaves the store exactly as it was.
4. The triples in each target graph are counted and compared with the expected counts.

``--replace`` into a single graph (``--graph IRI``) over the Graph Store Protocol is one ``PUT``,
atomic by itself. A load that fails or is interrupted (Ctrl-C, SIGTERM, SIGKILL) before the
store acted on its update leaves the store as it was; every failure names the state the store is
in: "the store was not changed", or, when the answer to a request that went out in full is lost,
"old or new, never a mix". A ``--replace`` update may be sent again (it has the same effect); an
``--append`` one with blank nodes may not (they would be new nodes).

Earlier versions staged graphs under :data:`STAGING` and switched them into place; staging
graphs such a load left behind are dropped by the next load, which says so.

Credentials come from the environment (``TREATYKG_TOKEN`` for a bearer token, or
``TREATYKG_USER`` and ``TREATYKG_PASSWORD``) or from ``~/.netrc`` (or the file ``$NETRC`` names),
never from the command line; they never appear in messages.
"""

from __future__ import annotations

import base64
import functools
import http.client
import json
import math
import netrc
import os
import re
import shutil
import socket
import ssl
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import httpx

from treatykg import tempfiles
from treatykg.errors import InputError, TreatyKGError
from treatykg.namespaces import GRAPH
from treatykg.urls import url_problem
from treatykg.wikidata_client import retry_after_seconds

STAGING = GRAPH + "staging/"
"""Prefix of the staging graphs of earlier versions' loads; reserved."""

MODES = ("replace", "append")

DEFAULT_TIMEOUT = 120.0
"""Seconds to wait on any one network operation. Oxigraph on disk takes ~40 s to answer a
1M-triple upload, after it has received it (see benchmarks/)."""
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 0.5
MAX_WAIT = 60.0
"""Longest pause between two attempts, whatever Retry-After asks for."""

PROGRESS_MIN_BYTES = 1_000_000
"""Smaller uploads take well under a second: no progress line for them."""

_RETRY_STATUS = {429, 502, 503, 504}
_NO_GSP_STATUS = {404, 405, 501}


class RemoteStoreError(TreatyKGError):
    """The store could not be reached, refused a request or answered wrongly (exit code 2).

    ``lost`` is true when the connection broke after the whole request was sent: the server may
    or may not have acted on it. A request cut off before its body was all sent is not lost: no
    server acts on a body shorter than its Content-Length.
    """

    def __init__(self, message: str, *, lost: bool = False) -> None:
        super().__init__(message)
        self.lost = lost


class CountMismatch(TreatyKGError):
    """The load went through but a graph's count in the store differs from the local count.

    Exit code 1: the answer to "does the store hold the graph?" is no.
    """

    exit_code = 1


class LoadInterrupted(TreatyKGError):
    """The user interrupted a load (Ctrl-C, SIGTERM); the message says what the store holds.

    Exit code 130, as for any interrupted command.
    """

    exit_code = 130


# --- URLs ---------------------------------------------------------------------------------------


def redact(url: str) -> str:
    """Return ``url`` with any user name and password replaced by ``***``.

    >>> redact("http://alice:s3cret@example.org:3030/ds?graph=x")
    'http://***@example.org:3030/ds?graph=x'
    >>> redact("http://example.org/sparql")
    'http://example.org/sparql'
    """
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://host:1[": no netloc to take apart, but hide what looks like one
        return re.sub(r"//[^/]*@", "//***@", url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, "***@" + host, parts.path, parts.query, parts.fragment))


def check_url(url: str, what: str = "endpoint") -> str:
    """Return ``url`` without a trailing slash if it is an absolute http(s) URL with a host.

    Raises :class:`InputError` otherwise, and for a URL holding credentials: they would stay in
    the shell history.

    >>> check_url("http://127.0.0.1:7878/")
    'http://127.0.0.1:7878'
    >>> check_url("127.0.0.1:7878")
    Traceback (most recent call last):
    ...
    treatykg.errors.InputError: bad endpoint URL '127.0.0.1:7878': expected http://HOST[:PORT]/...
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError on a bad port
    except ValueError as error:
        reason = "bad port" if "port" in str(error).lower() else "bad host"
        raise InputError(f"bad {what} URL {redact(text)!r}: {reason}") from None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() for c in text)
    ):
        raise InputError(f"bad {what} URL {redact(text)!r}: expected http://HOST[:PORT]/...")
    problem = url_problem(text)
    if problem is not None:  # a control character, a host name that is not ASCII
        raise InputError(f"bad {what} URL {redact(text)!r}: {problem}")
    if parts.username is not None or parts.password is not None:
        raise InputError(
            f"bad {what} URL {redact(text)!r}: credentials do not belong in a URL (they would "
            "stay in the shell history); set TREATYKG_USER and TREATYKG_PASSWORD, or use ~/.netrc"
        )
    del port
    try:
        httpx.URL(text)  # what the client will send: it refuses, e.g., control characters
    except httpx.InvalidURL as error:
        raise InputError(f"bad {what} URL {redact(text)!r}: {_one_line(error)}") from None
    return text.rstrip("/") if not parts.query else text


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()).rstrip(".")


def check_graph_iri(iri: str) -> str:
    """Return ``iri`` if it is an absolute IRI a store accepts as a graph name.

    >>> check_graph_iri("https://w3id.org/treatykg/graph/all")
    'https://w3id.org/treatykg/graph/all'
    >>> check_graph_iri("my graph")
    Traceback (most recent call last):
    ...
    treatykg.errors.InputError: bad graph IRI 'my graph': expected an absolute IRI such as https://example.org/graph/treaty
    """
    import pyoxigraph as ox

    text = iri.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    bad = InputError(
        f"bad graph IRI {iri!r}: expected an absolute IRI such as https://example.org/graph/treaty"
    )
    scheme = text.split(":", 1)[0]
    if ":" not in text or not scheme or not scheme[0].isalpha():
        raise bad
    try:
        ox.NamedNode(text)
    except ValueError:
        raise bad from None
    if text.startswith(STAGING):
        raise InputError(f"bad graph IRI {iri!r}: {STAGING}... is reserved for staging")
    return text


@dataclass(frozen=True)
class Endpoint:
    """The URLs of one store: SPARQL query, SPARQL update and Graph Store (may be None)."""

    query_url: str
    update_url: str
    store_url: str | None = None

    @property
    def name(self) -> str:
        """The URL to name the store by in messages: what the query and update URLs share
        (``http://host:3030/ds`` for ``…/ds/query`` and ``…/ds/update``), else the query URL.
        """
        query, update = self.query_url.split("/"), self.update_url.split("/")
        shared: list[str] = []
        for a, b in zip(query, update, strict=False):
            if a != b:
                break
            shared.append(a)
        # ["http:", "", "host:port", ...]: at least the scheme, the host and the port agree
        return redact("/".join(shared) if len(shared) >= 3 else self.query_url)


def resolve_endpoint(
    endpoint: str | None = None,
    *,
    query_url: str | None = None,
    update_url: str | None = None,
    store_url: str | None = None,
) -> Endpoint:
    """Return the store's URLs: ``endpoint`` names an Oxigraph server's base URL (its ``/query``,
    ``/update`` and ``/store``); the other arguments override one URL each.

    Without ``endpoint``, both ``query_url`` and ``update_url`` are needed; without a Graph Store
    URL the load uses SPARQL Update only. ``store_url="none"`` turns the Graph Store off.

    >>> resolve_endpoint("http://127.0.0.1:7878")
    Endpoint(query_url='http://127.0.0.1:7878/query', update_url='http://127.0.0.1:7878/update', store_url='http://127.0.0.1:7878/store')
    """
    base = check_url(endpoint) if endpoint else None
    query = check_url(query_url, "query") if query_url else (base and base + "/query")
    update = check_url(update_url, "update") if update_url else (base and base + "/update")
    if store_url and store_url.strip().lower() == "none":
        store = None
    else:
        store = check_url(store_url, "store") if store_url else (base and base + "/store")
    if not query or not update:
        raise InputError(
            "give --endpoint URL (an Oxigraph server), or both --query-url and --update-url"
        )
    return Endpoint(query, update, store)


# --- credentials --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """How to authenticate: ``kind`` is "basic" or "bearer"; ``origin`` says where they came
    from. The secret never shows in ``repr``."""

    kind: str
    user: str = field(default="", repr=False)
    secret: str = field(default="", repr=False)
    origin: str = ""

    def header(self) -> str:
        """Return the value of the Authorization header."""
        if self.kind == "bearer":
            return f"Bearer {self.secret}"
        token = base64.b64encode(f"{self.user}:{self.secret}".encode()).decode("ascii")
        return f"Basic {token}"


def credentials_for(url: str, environ: dict[str, str] | None = None) -> Credentials | None:
    """Return the credentials to send to ``url``'s host, or None.

    Order: ``TREATYKG_TOKEN`` (bearer); ``TREATYKG_USER`` with ``TREATYKG_PASSWORD`` (basic);
    the ``machine`` entry for the host in ``$NETRC`` or ``~/.netrc`` (basic).
    """
    env = os.environ if environ is None else environ
    if env.get("TREATYKG_TOKEN"):
        return Credentials("bearer", secret=env["TREATYKG_TOKEN"], origin="TREATYKG_TOKEN")
    if env.get("TREATYKG_USER"):
        return Credentials(
            "basic",
            user=env["TREATYKG_USER"],
            secret=env.get("TREATYKG_PASSWORD", ""),
            origin="TREATYKG_USER",
        )
    path = Path(env["NETRC"]) if env.get("NETRC") else Path(env.get("HOME", "~")) / ".netrc"
    path = path.expanduser()
    if not path.is_file():
        return None
    try:
        entries = netrc.netrc(str(path))
    except netrc.NetrcParseError as error:
        # The message may quote the offending token; give the file and line only.
        raise InputError(f"{path}:{error.lineno}: cannot read this netrc file") from None
    except OSError as error:
        raise InputError(f"{path}: {error.strerror or error}") from None
    host = urlsplit(url).hostname or ""
    found = entries.authenticators(host)
    if not found:
        return None
    login, _account, password = found
    return Credentials("basic", user=login or "", secret=password or "", origin=str(path))


# --- progress -----------------------------------------------------------------------------------


def _megabytes(n: int) -> str:
    if n < 1_000_000:
        return f"{n / 1000:.0f} kB"
    return f"{n / 1_000_000:.1f} MB"


class Progress:
    """Shows how far an upload is, on one line of ``stream`` (stderr by default).

    On a terminal the line is redrawn in place; elsewhere (``--progress`` into a file or a
    pipe) a line is written at every tenth of the way, so logs stay short.
    """

    def __init__(self, stream: IO[str] | None = None, *, enabled: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        is_tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.enabled = is_tty if enabled is None else enabled
        self.redraw = is_tty
        self._label = ""
        self._total = 0
        self._shown_step = -1
        self._last_draw = 0.0

    def start(self, label: str, total: int) -> None:
        self._label, self._total, self._shown_step = label, total, -1
        self.update(0)

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        total = max(self._total, 1)
        percent = min(100, done * 100 // total)
        text = f"{self._label}: {_megabytes(done)} of {_megabytes(self._total)} ({percent}%)"
        if self.redraw:
            now = time.monotonic()
            if now - self._last_draw >= 0.1 or done >= self._total:
                self.stream.write("\r\x1b[K" + text)
                self.stream.flush()
                self._last_draw = now
        elif percent // 10 != self._shown_step:
            self._shown_step = percent // 10
            self.stream.write(text + "\n")
            self.stream.flush()

    def finish(self) -> None:
        if self.enabled and self.redraw:
            self.stream.write("\r\x1b[K")
            self.stream.flush()

    def note(self, text: str) -> None:
        """Write a one-line notice (always shown: notices matter more than progress)."""
        self.stream.write(text + "\n")
        self.stream.flush()


# --- HTTP ---------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def first_line(self) -> str:
        """The first non-empty line of the body: the server's own reason, kept short."""
        for line in self.body.decode("utf-8", "replace").splitlines():
            if line.strip():
                line = " ".join(line.split())
                return line if len(line) <= 200 else line[:197] + "..."
        return http.client.responses.get(self.status, "")


class _NotSent(Exception):
    """The connection could not be opened: nothing reached the server, a retry is always safe."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


class _Lost(Exception):
    """The connection failed after the request started, with ``sent`` bytes of its body sent:
    the server may have acted on it if the whole body had gone out."""

    def __init__(self, reason: str, sent: int) -> None:
        self.reason = reason
        self.sent = sent


def _reason(error: BaseException) -> str:
    """Say in a few words why a request failed: the operating system's error under httpx's."""
    causes = [error]
    while causes[-1].__cause__ is not None or causes[-1].__context__ is not None:
        nxt = causes[-1].__cause__ or causes[-1].__context__
        if nxt is None or nxt in causes or len(causes) > 8:
            break
        causes.append(nxt)
    for cause in reversed(causes):
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "unknown host"
        if isinstance(cause, ConnectionResetError):
            return "connection reset by the server"
        if isinstance(cause, BrokenPipeError):
            return "the server closed the connection"
        if isinstance(cause, ssl.SSLError):
            return f"TLS error ({cause.reason or cause})"
    text = str(error)
    if "Connection refused" in text:
        return "connection refused"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "unknown host"
    if isinstance(error, httpx.RemoteProtocolError) and "without sending" in text:
        if "complete message body" in text:
            return "the server broke off its answer"
        return "the server closed the connection without answering"
    return text or type(error).__name__


class HttpClient:
    """The project's HTTP client for SPARQL stores, on httpx: timeouts, retries with
    exponential backoff and Retry-After, streamed request bodies with progress, and the
    Authorization header for each host.

    httpx moves the bytes (connections, TLS, streaming a body of known length, reading an early
    answer while a body is still being sent); this class keeps what a load needs to say
    afterwards: whether a failed request can have reached the store (nothing sent, part of the
    body sent, all of it sent), so that it is retried only when that is safe and the message
    names the state the store is in. No connection is reused: a pooled connection the store had
    closed would make a request look lost that never left.
    """

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        progress: Progress | None = None,
        environ: dict[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not math.isfinite(timeout) or timeout <= 0:
            raise InputError(f"--timeout must be a positive number of seconds, not {timeout}")
        if retries < 0:
            raise InputError(f"--retries must be 0 or more, not {retries}")
        if not math.isfinite(backoff) or backoff < 0:
            raise InputError(f"--backoff must be 0 or more seconds, not {backoff}")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.progress = progress or Progress(enabled=False)
        self.environ = environ
        self.sleep = sleep
        self._credentials: dict[str, Credentials | None] = {}
        self._http: httpx.Client | None = None

    @property
    def http(self) -> httpx.Client:
        """The httpx client: no proxy and no ~/.netrc from the environment (the credentials are
        this class's), redirects reported rather than followed, a fresh connection each time."""
        if self._http is None:
            self._http = httpx.Client(
                timeout=httpx.Timeout(self.timeout),
                verify=_tls_context(),
                trust_env=False,
                follow_redirects=False,
                limits=httpx.Limits(max_keepalive_connections=0),
                headers={"User-Agent": "treatykg", "Accept-Encoding": "identity"},
            )
        return self._http

    def credentials(self, url: str) -> Credentials | None:
        host = urlsplit(url).hostname or ""
        if host not in self._credentials:
            self._credentials[host] = credentials_for(url, self.environ)
        return self._credentials[host]

    def request(
        self,
        method: str,
        url: str,
        *,
        body: Body | None = None,
        headers: dict[str, str] | None = None,
        idempotent: bool = True,
        label: str = "",
        ok: Sequence[int] = (),
    ) -> Response:
        """Send one request and return the response; raise :class:`RemoteStoreError` on failure.

        A request is retried (``retries`` times, waiting ``backoff`` × 2ⁿ seconds or what
        Retry-After says) when the connection could not be opened, on HTTP 429, 502, 503 and 504,
        and — only if ``idempotent`` — when the connection broke or timed out midway.
        Statuses in ``ok`` are returned as they are, whatever they are.
        """
        where = _where(url)
        during = f" while {label}" if label else ""
        attempt = 0
        lost = False  # sticky: once a request may have reached the server, say so
        first = ""
        while True:
            wait: float | None = None
            try:
                response = self._send_once(method, url, body, headers or {}, label)
            except _NotSent as error:
                short = error.reason
                failure = f"cannot reach {where}{during}: {short}"
                wait = self._backoff(attempt)
            except _Lost as error:
                size = _body_size(body)
                # A body cut short cannot have been acted on; one sent in full may have been.
                lost = lost or error.sent >= size
                if error.reason == "timed out":
                    short = f"no answer within {self.timeout:g} s"
                    failure = f"no answer from {where} within {self.timeout:g} s{during}"
                else:
                    short = error.reason
                    failure = f"lost the connection to {where}{during}: {short}"
                if not isinstance(body, bytes) and 0 < error.sent < size:
                    failure += f" ({_megabytes(error.sent)} of {_megabytes(size)} sent)"
                if idempotent:
                    wait = self._backoff(attempt)
            else:
                status = response.status
                if 200 <= status < 300 or status in ok:
                    return response
                if status in (401, 403):
                    raise RemoteStoreError(self._refused(url, status)) from None
                reason = response.first_line()
                if 300 <= status < 400 and response.headers.get("Location"):
                    # Not followed: a redirect may change the method or drop the body.
                    reason = f"moved to {redact(response.headers['Location'])}; use that URL"
                short = f"HTTP {status}: {reason}"
                failure = f"HTTP {status} from {where}{during}: {reason}"
                if status in _RETRY_STATUS:
                    wait = retry_after_seconds(response.headers.get("Retry-After"))
                    wait = wait if wait is not None else self._backoff(attempt)
            first = first or failure
            if wait is None or attempt >= self.retries:
                if attempt and failure == first:
                    failure += f" (after {attempt + 1} attempts)"
                elif attempt:
                    # Say what went wrong first, and what the retries found.
                    failure = f"{first}; {attempt} retr{'y' if attempt == 1 else 'ies'}: {short}"
                raise RemoteStoreError(failure, lost=lost)
            attempt += 1
            self.sleep(min(wait, MAX_WAIT))

    def _backoff(self, attempt: int) -> float:
        return self.backoff * (2**attempt)

    def _refused(self, url: str, status: int) -> str:
        if self.credentials(url) is None:
            return (
                f"endpoint asks for credentials (HTTP {status}) at {_where(url)}: set "
                "TREATYKG_USER and TREATYKG_PASSWORD (or TREATYKG_TOKEN), or add the host to "
                "~/.netrc"
            )
        return f"endpoint refused the credentials (HTTP {status}) at {_where(url)}"

    def _send_once(
        self,
        method: str,
        url: str,
        body: Body | None,
        headers: dict[str, str],
        label: str,
    ) -> Response:
        size = _body_size(body)
        all_headers = dict(headers)
        credentials = self.credentials(url)
        if credentials is not None:
            all_headers["Authorization"] = credentials.header()
        if body is not None or method in ("POST", "PUT"):
            # A known length: the body goes as it is (not chunked), and a server that got less
            # than this many bytes acts on none of them.
            all_headers["Content-Length"] = str(size)
        sent = [0]  # bytes of the body written so far, kept when sending fails midway
        content = None if body is None else self._counted(body, size, label, sent)
        try:
            request = self.http.build_request(method, url, headers=all_headers, content=content)
            answer = self.http.send(request)
        except httpx.InvalidURL as error:
            raise InputError(f"bad URL {_where(url)!r}: {_one_line(error)}") from None
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol) as error:
            raise _NotSent(
                "timed out" if isinstance(error, httpx.ConnectTimeout) else _reason(error)
            ) from None
        except httpx.TimeoutException:
            raise _Lost("timed out", sent[0]) from None
        except httpx.TransportError as error:
            raise _Lost(_reason(error), sent[0]) from None
        return Response(answer.status_code, answer.headers, answer.content)

    def _counted(self, body: Body, size: int, label: str, sent: list[int]) -> Iterator[bytes]:
        """``body`` in 256 kB pieces, counting in ``sent[0]`` the bytes httpx has written (it
        asks for the next piece once the last one is out) and showing the progress."""
        show = bool(label) and self.progress.enabled and size >= PROGRESS_MIN_BYTES
        if show:
            self.progress.start(label, size)
        try:
            for chunk in _pieces(body):
                yield chunk
                sent[0] += len(chunk)
                if show:
                    self.progress.update(sent[0])
        finally:
            if show:
                self.progress.finish()


Body = bytes | Path | list[bytes | Path]
"""A request body: bytes, a file streamed from disk, or parts of both sent one after another."""


def _body_size(body: Body | None) -> int:
    if body is None:
        return 0
    parts = body if isinstance(body, list) else [body]
    return sum(p.stat().st_size if isinstance(p, Path) else len(p) for p in parts)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context for every client: making one reads the CA bundle (~30 ms)."""
    return ssl.create_default_context()


def _pieces(body: Body, size: int = 256 * 1024) -> Iterator[bytes]:
    """The bytes of ``body`` in pieces of ``size``, files read as they are sent."""
    for part in body if isinstance(body, list) else [body]:
        if isinstance(part, bytes):
            for start in range(0, len(part), size):
                yield part[start : start + size]
        else:
            with part.open("rb") as stream:
                while chunk := stream.read(size):
                    yield chunk


def _where(url: str) -> str:
    """The URL to name in a message: no credentials, no query string (graph IRIs are long)."""
    parts = urlsplit(redact(url))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


# --- SPARQL and the Graph Store Protocol --------------------------------------------------------


def _iri(iri: str) -> str:
    return f"<{iri}>"


COUNT_BATCH = 100
"""Graphs counted by one query (:meth:`RemoteStore.counts`); the query names each."""


class RemoteStore:
    """One SPARQL 1.1 store reached over HTTP: queries, updates, Graph Store uploads, counts."""

    def __init__(self, endpoint: Endpoint, client: HttpClient | None = None) -> None:
        self.endpoint = endpoint
        self.client = client or HttpClient()

    def select(self, query: str) -> list[dict[str, str]]:
        """Return a SELECT query's rows, each a dict of variable → the term's lexical value."""
        results = self._results(query)
        try:
            bindings = results["results"]["bindings"]
            return [{name: term["value"] for name, term in row.items()} for row in bindings]
        except (KeyError, TypeError, AttributeError):
            raise RemoteStoreError(f"{self.endpoint.name} did not return rows") from None

    def _results(self, query: str) -> dict:
        response = self.client.request(
            "POST",
            self.endpoint.query_url,
            body=urlencode({"query": query}).encode("utf-8"),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/sparql-results+json",
            },
        )
        try:
            results = json.loads(response.body)
        except ValueError:
            results = None
        if not isinstance(results, dict):
            raise RemoteStoreError(
                f"{self.endpoint.name} did not answer with SPARQL JSON results "
                f"({response.headers.get('Content-Type', 'no Content-Type')})"
            )
        return results

    def ask(self, query: str) -> bool:
        """Return the answer to an ASK query."""
        answer = self._results(query).get("boolean")
        if not isinstance(answer, bool):
            raise RemoteStoreError(f"{self.endpoint.name} did not answer the ASK query")
        return answer

    def check(self) -> None:
        """Raise :class:`RemoteStoreError` unless the store answers a query (``ASK {}``)."""
        self.ask("ASK {}")

    def update(
        self, text: str | Path | list[bytes | Path], *, idempotent: bool = True, label: str = ""
    ) -> None:
        """Run a SPARQL Update: a string, or a file (or parts of text and files) streamed."""
        body = text.encode("utf-8") if isinstance(text, str) else text
        self.client.request(
            "POST",
            self.endpoint.update_url,
            body=body,
            headers={"Content-Type": "application/sparql-update; charset=utf-8"},
            idempotent=idempotent,
            label=label,
        )

    def count(self, graph: str) -> int:
        """Return the number of triples in the named graph ``graph`` (0 if there is none)."""
        rows = self.select(
            f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {_iri(graph)} {{ ?s ?p ?o }} }}"
        )
        try:
            return int(rows[0]["n"])
        except (IndexError, KeyError, ValueError):
            raise RemoteStoreError(f"{self.endpoint.name} did not return a count") from None

    def counts(self, graphs: Iterable[str]) -> dict[str, int]:
        """Return the number of triples in each named graph of ``graphs`` (0 for one there is not).

        One query per :data:`COUNT_BATCH` graphs, each counting only those graphs: a load of the
        project's 66 graphs counted them in 132 requests (before and after), now in 2.
        """
        wanted = list(dict.fromkeys(graphs))
        found: dict[str, int] = {}
        for start in range(0, len(wanted), COUNT_BATCH):
            batch = wanted[start : start + COUNT_BATCH]
            rows = self.select(
                "SELECT ?g (COUNT(*) AS ?n) WHERE { VALUES ?g { "
                + " ".join(_iri(graph) for graph in batch)
                + " } GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
            )
            try:
                found.update((row["g"], int(row["n"])) for row in rows)
            except (KeyError, ValueError):
                raise RemoteStoreError(f"{self.endpoint.name} did not return a count") from None
        return {graph: found.get(graph, 0) for graph in wanted}

    def count_shared(self, graph: str, other: str) -> int:
        """Return how many triples ``graph`` and ``other`` have in common."""
        rows = self.select(
            "SELECT (COUNT(*) AS ?n) WHERE { "
            f"GRAPH {_iri(graph)} {{ ?s ?p ?o }} GRAPH {_iri(other)} {{ ?s ?p ?o }} }}"
        )
        return int(rows[0]["n"])

    def count_present(self, graph: str, path: Path) -> int:
        """Return how many triples of the N-Triples file ``path`` ``graph`` already holds.

        Triples with blank nodes are left out: loaded again, a blank node is a new node. The
        file is read as it is asked about, :data:`PRESENT_BATCH` triples a query.
        """
        import pyoxigraph as ox

        def ask(batch: list[str]) -> int:
            rows = self.select(
                "SELECT (COUNT(*) AS ?n) WHERE { VALUES (?s ?p ?o) {\n"
                + "\n".join(batch)
                + f"\n}} GRAPH {_iri(graph)} {{ ?s ?p ?o }} }}"
            )
            return int(rows[0]["n"])

        total, batch = 0, []
        for t in ox.parse(path=path, format=ox.RdfFormat.N_TRIPLES):
            if isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode):
                continue
            batch.append(f"({t.subject} {t.predicate} {t.object})")
            if len(batch) >= PRESENT_BATCH:
                total, batch = total + ask(batch), []
        return total + ask(batch) if batch else total

    def graphs_under(self, prefix: str) -> list[str]:
        """Return the named graphs whose IRI starts with ``prefix``."""
        literal = json.dumps(prefix)  # a JSON string is a valid SPARQL string literal here
        rows = self.select(
            f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ }} FILTER(STRSTARTS(STR(?g), {literal})) }}"
        )
        return sorted(row["g"] for row in rows if "g" in row)

    def _graph_url(self, graph: str) -> str:
        assert self.endpoint.store_url is not None
        separator = "&" if "?" in self.endpoint.store_url else "?"
        return f"{self.endpoint.store_url}{separator}graph={quote(graph, safe='')}"

    def put_graph(self, graph: str, path: Path, *, label: str = "") -> bool:
        """Replace ``graph`` with the N-Triples file ``path`` by a Graph Store ``PUT``.

        Returns False if the store has no Graph Store endpoint there (HTTP 404, 405, 501).
        """
        return self._send_graph("PUT", graph, path, label)

    def _send_graph(self, method: str, graph: str, path: Path, label: str) -> bool:
        if self.endpoint.store_url is None:
            return False
        response = self.client.request(
            method,
            self._graph_url(graph),
            body=path,
            # N-Triples is a subset of Turtle, and every Graph Store implementation reads Turtle.
            headers={"Content-Type": "text/turtle; charset=utf-8"},
            idempotent=method == "PUT",
            label=label,
            ok=tuple(_NO_GSP_STATUS),
        )
        return response.status not in _NO_GSP_STATUS


PRESENT_BATCH = 20_000
"""Triples per query when counting which local triples a graph already holds (``--append``)."""


# --- the local side -----------------------------------------------------------------------------


@dataclass
class LocalGraph:
    """One graph to load: its IRI, the files it comes from, its triples as N-Triples, its count."""

    iri: str
    files: list[Path]
    triples: int
    ntriples: Path

    @property
    def slug(self) -> str:
        """A short readable name: the part after ``…/graph/``, else the IRI."""
        return self.iri[len(GRAPH) :] if self.iri.startswith(GRAPH) else self.iri


def prepare(
    sources: Iterable[tuple[Path | str, str]], workdir: Path, *, into: str | None = None
) -> list[LocalGraph]:
    """Parse every file strictly and write each graph's distinct triples as N-Triples.

    ``sources`` are (file, graph IRI) pairs (see :func:`treatykg.loading.project_files`);
    ``into`` puts every triple in that one graph instead. Raises
    :class:`~treatykg.errors.ParseError` before anything is sent.
    """
    import pyoxigraph as ox

    from treatykg.loading import load_store

    pairs = [(Path(path), into or graph) for path, graph in sources]
    if not pairs:
        raise InputError("nothing to load: no files")
    store = load_store(pairs)
    counts = {
        solution["g"].value: int(solution["n"].value)
        for solution in store.query(
            "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
        )
    }
    graphs: dict[str, list[Path]] = {}
    for path, graph in pairs:
        graphs.setdefault(graph, []).append(path)
    result = []
    for index, (iri, files) in enumerate(graphs.items()):
        target = workdir / f"graph-{index}.nt"
        store.dump(target, ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(iri))
        result.append(LocalGraph(iri, files, counts.get(iri, 0), target))
    return result


# --- loading ------------------------------------------------------------------------------------


@dataclass
class GraphResult:
    """One graph after a load: local count, count before and after, what was expected."""

    iri: str
    local: int
    before: int
    after: int
    expected: int

    @property
    def ok(self) -> bool:
        return self.after == self.expected


@dataclass
class LoadReport:
    endpoint: Endpoint
    mode: str
    protocol: str
    graphs: list[GraphResult]
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(g.ok for g in self.graphs)

    def table(self) -> str:
        """The verification table, one graph a line, and a closing sentence.

        Columns: the local count, the count before the load, the count after it, and (with
        --append) the count expected after it: before + local - triples already there.
        """
        append = self.mode == "append"
        head = ["graph", "local", "before", "in store", *(["expected"] if append else []), ""]
        rows = [
            [
                g.iri,
                str(g.local),
                str(g.before),
                str(g.after),
                *([str(g.expected)] if append else []),
                "ok" if g.ok else f"MISMATCH (expected {g.expected})",
            ]
            for g in self.graphs
        ]
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head) - 1)]

        def line(cells: Sequence[str]) -> str:
            left = cells[0].ljust(widths[0])
            numbers = "  ".join(c.rjust(w) for c, w in zip(cells[1:-1], widths[1:], strict=True))
            return f"{left}  {numbers}  {cells[-1]}".rstrip()

        lines = [line(head), *(line(r) for r in rows)]
        total = sum(g.local for g in self.graphs)
        verdict = (
            (
                "every graph holds what was expected"
                if append
                else "every graph holds the local count"
            )
            if self.ok
            else "COUNTS DIFFER"
        )
        lines.append(
            f"loaded {len(self.graphs)} graph{'s' if len(self.graphs) != 1 else ''} "
            f"({total} triples) into {self.endpoint.name} with --{self.mode} "
            f"by {self.protocol} in {self.seconds:.1f} s: {verdict}"
        )
        return "\n".join(lines)


def load(
    endpoint: Endpoint,
    sources: Iterable[tuple[Path | str, str]],
    *,
    mode: str = "replace",
    into: str | None = None,
    client: HttpClient | None = None,
    before_update: Callable[[], None] | None = None,
) -> LoadReport:
    """Load ``sources`` ((file, graph IRI) pairs) into the store at ``endpoint`` and verify it.

    ``mode`` is "replace" (each target graph ends up holding exactly the local triples) or
    "append" (the local triples are added to what the graph holds). ``into`` loads every file
    into that one graph. See the module docstring for the steps and their guarantees.
    ``before_update`` is called just before the update that changes the store is sent.

    Raises :class:`~treatykg.errors.ParseError` or :class:`InputError` before anything is sent,
    :class:`RemoteStoreError` when the store fails and :class:`LoadInterrupted` on Ctrl-C (each
    message says what state the store is in), and returns a report whose ``ok`` is False when a
    count differs.
    """
    if mode not in MODES:
        raise InputError(f"unknown mode {mode!r}; choose one of: {', '.join(MODES)}")
    if into is not None:
        into = check_graph_iri(into)
    client = client or HttpClient()
    store = RemoteStore(endpoint, client)
    started = time.monotonic()
    phase = _Phase("while reading the files; the store was not changed")
    # The N-Triples files are named after this process: if it is killed outright, the next
    # treatykg command removes them (treatykg.tempfiles).
    workdir = tempfiles.private_dir("load")
    try:
        graphs = prepare(sources, workdir, into=into)
        phase.now("before anything was loaded; the store was not changed")
        try:
            store.check()
        except RemoteStoreError as error:  # unreachable, refused, not a SPARQL endpoint
            raise RemoteStoreError(f"{error}; the store was not changed") from None
        notes = _remove_stale_staging(store)
        if mode == "replace" and len(graphs) == 1 and endpoint.store_url is not None:
            before = store.count(graphs[0].iri)
            if before_update is not None:
                before_update()
            protocol = _put_directly(store, graphs[0], phase)
            if protocol is not None:
                phase.now(f"while counting: {graphs[0].iri} was loaded; load again to check")
                try:
                    results = [_verify(store, graphs[0], before=before, expected=graphs[0].triples)]
                except RemoteStoreError as error:
                    raise RemoteStoreError(
                        f"{error}; the upload went through, so {graphs[0].iri} holds the new "
                        "triples, but they could not be counted; load again to check"
                    ) from None
                report = LoadReport(endpoint, mode, protocol, results, 0.0, notes)
                report.seconds = time.monotonic() - started
                return report
            notes.append(_no_gsp_note(endpoint))
        results = _load_in_one_update(store, graphs, mode, before_update, phase)
    except KeyboardInterrupt:
        raise LoadInterrupted(f"interrupted {phase.text}") from None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    protocol = "one SPARQL Update"
    return LoadReport(endpoint, mode, protocol, results, time.monotonic() - started, notes)


class _Phase:
    """Where a load is, said as the end of "interrupted ...": what the store holds then."""

    def __init__(self, text: str) -> None:
        self.text = text

    def now(self, text: str) -> None:
        self.text = text


def verify(
    endpoint: Endpoint,
    local: dict[str, int],
    *,
    protocol: str,
    seconds: float,
    client: HttpClient | None = None,
) -> LoadReport:
    """Count each graph of ``local`` (graph IRI → local count) in the store and report.

    For stores filled some other way than :func:`load` (``oxigraph load``, see
    :func:`treatykg.server.serve_graph`); the report reads as a load's.
    """
    store = RemoteStore(endpoint, client)
    stored = store.counts(local)
    results = [GraphResult(iri, n, 0, stored[iri], n) for iri, n in local.items()]
    return LoadReport(endpoint, "replace", protocol, results, seconds)


def _no_gsp_note(endpoint: Endpoint) -> str:
    return (
        f"no Graph Store endpoint at {redact(endpoint.store_url or '')}: "
        "loading with SPARQL Update instead"
    )


def _remove_stale_staging(store: RemoteStore) -> list[str]:
    """Drop the staging graphs that loads of earlier treatykg versions (which staged) may have
    left in the store when they were cut off."""
    try:
        stale = store.graphs_under(STAGING)
    except RemoteStoreError:
        return []  # a store that cannot list its graphs this way: nothing to tidy
    if not stale:
        return []
    store.update(" ;\n".join(f"DROP SILENT GRAPH {_iri(g)}" for g in stale))
    return [f"removed {len(stale)} staging graph(s) left by an interrupted load"]


def _put_directly(store: RemoteStore, graph: LocalGraph, phase: _Phase) -> str | None:
    either = (
        f"{graph.iri} holds its old triples or, if the store received the whole upload, the "
        "new ones, never a mix (a PUT is all or nothing); load again"
    )
    phase.now(f"while uploading {graph.slug}: {either}")
    try:
        sent = store.put_graph(graph.iri, graph.ntriples, label=f"uploading {graph.slug}")
    except RemoteStoreError as error:
        if error.lost:
            raise RemoteStoreError(f"{error}; {either}", lost=True) from None
        raise RemoteStoreError(f"{error}; {graph.iri} is as it was") from None
    return "Graph Store PUT" if sent else None


def _verify(store: RemoteStore, graph: LocalGraph, *, before: int, expected: int) -> GraphResult:
    return GraphResult(graph.iri, graph.triples, before, store.count(graph.iri), expected)


def _verify_all(
    store: RemoteStore, graphs: list[LocalGraph], before: dict[str, int], expected: dict[str, int]
) -> list[GraphResult]:
    after = store.counts(g.iri for g in graphs)
    return [
        GraphResult(g.iri, g.triples, before[g.iri], after[g.iri], expected[g.iri]) for g in graphs
    ]


def _load_in_one_update(
    store: RemoteStore,
    graphs: list[LocalGraph],
    mode: str,
    before_update: Callable[[], None] | None,
    phase: _Phase,
) -> list[GraphResult]:
    """Send every graph in one SPARQL Update request (one transaction), streamed from the
    N-Triples files: ``DROP SILENT GRAPH`` and ``INSERT DATA`` for each graph (``--replace``),
    or ``INSERT DATA`` only (``--append``). Nothing is staged in the store, so a query never
    sees anything but the old graphs or the new ones."""
    phase.now("before the update; the store was not changed")
    before = store.counts(g.iri for g in graphs)
    expected = {}
    for graph in graphs:
        if mode == "replace":
            expected[graph.iri] = graph.triples
        elif graph.triples:
            shared = store.count_present(graph.iri, graph.ntriples)
            expected[graph.iri] = before[graph.iri] + graph.triples - shared
        else:
            expected[graph.iri] = before[graph.iri]
    parts: list[bytes | Path] = []
    for graph in graphs:
        target = _iri(graph.iri)
        operations = []
        if mode == "replace":
            operations.append(f"DROP SILENT GRAPH {target}")
        if graph.triples:
            operations.append(f"INSERT DATA {{ GRAPH {target} {{\n")
        if not operations:
            continue
        if parts:
            parts.append(b" ;\n")
        parts.append(" ;\n".join(operations).encode("utf-8"))
        if graph.triples:
            parts += [graph.ntriples, b"} }"]
    if before_update is not None:
        before_update()
    if not parts:
        return _verify_all(store, graphs, before, expected)
    either = (
        "the store holds either the old graphs or, if it received the whole update, the new "
        "ones, never a mix; load again"
    )
    label = "uploading " + (graphs[0].slug if len(graphs) == 1 else f"{len(graphs)} graphs")
    phase.now(f"while {label}: {either}")
    # --replace sends the same update again with the same effect; --append with blank nodes
    # would add new ones.
    idempotent = mode == "replace" or not any(_has_blank_nodes(g.ntriples) for g in graphs)
    try:
        store.update(parts, idempotent=idempotent, label=label)
    except RemoteStoreError as error:
        if error.lost:
            raise RemoteStoreError(
                f"{error}: {either} (a large update may still be running: give it time, or a "
                "larger --timeout)",
                lost=True,
            ) from None
        raise RemoteStoreError(f"{error}; the store was not changed") from None
    phase.now("after the update, while counting: the graphs were loaded; load again to check")
    try:
        return _verify_all(store, graphs, before, expected)
    except RemoteStoreError as error:
        raise RemoteStoreError(
            f"{error}; the update went through, so the store holds the new graphs, but they "
            "could not be counted; load again to check"
        ) from None


def _has_blank_nodes(path: Path) -> bool:
    with path.open("rb") as stream:
        return any(line.startswith(b"_:") or b" _:" in line for line in stream)
