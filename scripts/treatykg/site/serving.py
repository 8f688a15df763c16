"""The front server of ``treatykg serve``: the site at ``/``, the SPARQL endpoint next to it.

One port serves both:

- ``/query``, ``/update`` and ``/store`` go to the Oxigraph server behind (on another port of
  127.0.0.1), unchanged: method, headers, body and answer;
- every other path is a file of the built site. An entity's IRI path (``/id/person/zhou-enlai``)
  is negotiated on ``Accept``: ``text/turtle`` gives its Turtle, ``application/ld+json`` its
  JSON-LD, a browser its HTML page. ``/ontology`` does the same for the vocabulary.

Standard library only (``http.server``): the site is a handful of static files and the proxy
passes bytes through.
"""

from __future__ import annotations

import contextlib
import http.client
import mimetypes
import shutil
import tempfile
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from treatykg.errors import TreatyKGError

SPARQL_PATHS = ("/query", "/update", "/store")
"""Paths handed to the SPARQL server behind, with anything below them."""

NEGOTIATED = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/turtle": ".ttl",
    "application/x-turtle": ".ttl",
    "application/ld+json": ".jsonld",
}
"""The media types an entity path is offered in, and the file suffix of each."""

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".ttl": "text/turtle; charset=utf-8",
    ".jsonld": "application/ld+json",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}

# Hop-by-hop headers (RFC 9110, 7.6.1) are not passed on by a proxy.
_HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "host", "content-length",
}  # fmt: skip


class FrontServerError(TreatyKGError):
    """The front server could not start (exit code 2)."""


def choose_suffix(accept: str | None) -> str | None:
    """The file suffix that best fits an ``Accept`` header, or None if none is acceptable.

    >>> choose_suffix("text/turtle")
    '.ttl'
    >>> choose_suffix("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
    '.html'
    >>> choose_suffix("application/ld+json;q=0.5, text/turtle;q=0.9")
    '.ttl'
    >>> choose_suffix("image/png") is None
    True
    """
    if not accept or not accept.strip():
        return ".html"
    offers: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        quality = 1.0
        for parameter in fields[1:]:
            if parameter.startswith("q="):
                try:
                    quality = float(parameter[2:])
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        if media in NEGOTIATED:
            offers.append((quality, -position, NEGOTIATED[media]))
        elif media in ("*/*", "text/*", "application/*"):
            # A wildcard matches HTML first (text/*, */*), then Turtle, at a lower priority
            # than a type named exactly at the same quality.
            fallback = ".jsonld" if media == "application/*" else ".html"
            offers.append((quality - 0.0001, -position - 1000, fallback))
    if not offers:
        return None
    return max(offers)[2]


class _Handler(BaseHTTPRequestHandler):
    server: _FrontHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:
        pass  # quiet: `treatykg serve` prints its URLs, not every request

    # -- dispatch --

    def _dispatch(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if any(path == p or path.startswith(p + "/") for p in SPARQL_PATHS):
            self._proxy()
        elif self.command in ("GET", "HEAD"):
            self._site(path)
        else:
            self._plain(
                405,
                "Only GET and HEAD are served here; SPARQL is at /query.\n",
                {"Allow": "GET, HEAD"},
            )

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _dispatch

    # -- the site --

    def _site(self, path: str) -> None:
        root = self.server.site
        relative = urllib.parse.unquote(path).lstrip("/")
        target = (root / relative).resolve()
        if not target.is_relative_to(root):
            self._plain(404, "Not found.\n")
            return
        if path.rstrip("/") == "/ontology" and not path.endswith("/"):
            # The vocabulary's IRI (…/ontology#Term): its Turtle, or its documentation.
            turtle = root / "ontology" / "treatykg.ttl"
            if choose_suffix(self.headers.get("Accept")) == ".ttl" and turtle.is_file():
                self._file(turtle, {"Vary": "Accept", "Content-Location": "/ontology/treatykg.ttl"})
            else:
                self._redirect(path + "/")
            return
        if target.is_dir():
            if not path.endswith("/"):
                self._redirect(path + "/")  # so that the index's relative links resolve
                return
            target = target / "index.html"
        if target.is_file():
            self._file(target)
            return
        # An IRI path without a suffix: the entity in the format the client asks for.
        offers = {s: target.with_name(target.name + s) for s in (".html", ".ttl", ".jsonld")}
        offers = {s: f for s, f in offers.items() if f.is_file()}
        if not offers or not relative:
            self._plain(404, "Not found.\n")
            return
        self._negotiate(offers)

    def _redirect(self, location: str) -> None:
        self.send_response(301)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.send_header("Vary", "Accept")
        self.end_headers()

    def _negotiate(self, offers: dict[str, Path]) -> None:
        suffix = choose_suffix(self.headers.get("Accept"))
        if suffix not in offers:
            if suffix is None or ".html" not in offers:
                kinds = ", ".join(CONTENT_TYPES[s].split(";")[0] for s in offers)
                self._plain(406, f"Not acceptable; this resource is offered as: {kinds}.\n")
                return
            suffix = ".html"
        chosen = offers[suffix]
        location = "/" + chosen.relative_to(self.server.site).as_posix()
        self._file(chosen, {"Vary": "Accept", "Content-Location": location})

    def _file(self, file: Path, extra: dict[str, str] | None = None) -> None:
        body = file.read_bytes()
        kind = CONTENT_TYPES.get(file.suffix) or (
            mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        )
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _plain(self, status: int, text: str, extra: dict[str, str] | None = None) -> None:
        body = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    # -- the SPARQL server behind --

    def _request_body(self):
        """The request's body in a spooled file (chunked bodies are read whole first)."""
        body = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - the caller closes it
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                body.write(self.rfile.read(size))
                self.rfile.readline()
        else:
            remaining = int(self.headers.get("Content-Length") or 0)
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                body.write(chunk)
                remaining -= len(chunk)
        size = body.tell()
        body.seek(0)
        return body, size

    def _proxy(self) -> None:
        backend = self.server.backend
        body, size = self._request_body()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        headers["Host"] = backend.netloc
        if size or self.command in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(size)
        connection = http.client.HTTPConnection(
            backend.hostname, backend.port, timeout=self.server.backend_timeout
        )
        try:
            connection.request(
                self.command, self.path, body=body if size else None, headers=headers
            )
            answer = connection.getresponse()
            self.send_response(answer.status, answer.reason)
            chunked = answer.getheader("Content-Length") is None and self.command != "HEAD"
            for key, value in answer.getheaders():
                if key.lower() not in _HOP_BY_HOP:
                    self.send_header(key, value)
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", answer.getheader("Content-Length") or "0")
            self.end_headers()
            if self.command == "HEAD":
                return
            while True:
                chunk = answer.read1(1 << 16) if chunked else answer.read(1 << 16)
                if not chunk:
                    break
                if chunked:
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                else:
                    self.wfile.write(chunk)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except OSError as error:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self._plain(502, f"The SPARQL server behind did not answer: {error}\n")
        finally:
            connection.close()
            body.close()


class _FrontHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, site: Path, backend: str, backend_timeout: float) -> None:
        super().__init__(address, _Handler)
        self.site = site.resolve()
        self.backend = urllib.parse.urlsplit(backend)
        self.backend_timeout = backend_timeout


class FrontServer:
    """Serves ``site`` and passes SPARQL requests on to ``backend`` (an Oxigraph base URL).

    ``port=0`` picks a free port. :meth:`start` returns once the socket listens (in a thread of
    this process); :meth:`stop` closes it.
    """

    def __init__(
        self,
        site: Path,
        backend: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        backend_timeout: float = 3600.0,
    ) -> None:
        self.site = Path(site)
        self.backend = backend
        self.host = host
        self.port = port
        self.backend_timeout = backend_timeout
        self._server: _FrontHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FrontServer:
        try:
            self._server = _FrontHTTPServer(
                (self.host, self.port), self.site, self.backend, self.backend_timeout
            )
        except OSError as error:
            raise FrontServerError(
                f"serve on {self.host}:{self.port}: the port is in use or cannot be bound "
                f"({error.strerror}); choose another with --port (0 picks a free one)"
            ) from None
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FrontServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def remove_site(folder: Path | None) -> None:
    """Remove a site that ``serve`` built for itself in a temporary folder."""
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
