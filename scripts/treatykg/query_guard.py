"""A front before ``oxigraph serve`` that makes sure no query runs away.

Oxigraph's own ``--timeout-s`` stops many queries, but not all: measured on Oxigraph 0.5.13, a
cartesian product of four triple patterns (``SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f .
?g ?h ?i . ?j ?k ?l }``) or one sorted with ``ORDER BY`` kept a core busy long after the timeout
and after its client had gone, while a product of three patterns was stopped on time. Oxigraph
has no way to cancel one query from outside, so :class:`QueryGuard` does what a careful
supervisor does: it stands on the public port, passes every request to the server on a private
port, and when a query is still running ``grace`` seconds after the timeout it restarts the
server (its store is on disk, so nothing is lost) and answers that query with HTTP 503 and one
line saying it was stopped. Other requests in flight at that moment are answered 503 too, with
"try again".

Requests need a ``Content-Length`` (every SPARQL client sends one); responses are passed on as
they stream, one connection per request.
"""

from __future__ import annotations

import errno
import http.client
import http.server
import sys
import threading
import time
from typing import IO

from treatykg.server import EndpointUrls, OxigraphServer, ServerError
from treatykg.site.serving import SiteFiles, is_sparql_path

CHUNK = 64 * 1024
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


def grace_for(timeout: float) -> float:
    """Seconds a query may run past ``timeout`` before the server is restarted: Oxigraph is
    given the first chance to stop it itself."""
    return 1.0 + timeout / 10


class _Flight:
    """One request passed on to the server: when it began, whether the guard stopped it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.started = time.monotonic()
        self.stopped = False
        self.restarted = False

    @property
    def is_query(self) -> bool:
        return self.path.split("?", 1)[0].rstrip("/").endswith("/query")


class QueryGuard(EndpointUrls):
    """Serve a started :class:`OxigraphServer` on a private port (given to :meth:`start`) on
    ``host:port``, restarting it when a query outlives ``timeout`` + :func:`grace_for`.

    The port is taken when the guard is made, so that a port in use is reported before any work.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        timeout: float,
        log: IO[str] | None = None,
        site: SiteFiles | None = None,
    ) -> None:
        self.backend: OxigraphServer | None = None
        self.site = site  # when set, paths other than /query, /update, /store are its files
        self.timeout = timeout
        self.grace = grace_for(timeout)
        self.log = log if log is not None else sys.stderr
        self.restarts = 0
        self._flights: set[_Flight] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._failed: str | None = None
        guard = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # one request per connection; the body ends at close
            server_version = "treatykg"

            def log_message(self, *args: object) -> None:
                pass

            def _pass_on(self) -> None:
                if guard.site is not None and not is_sparql_path(self.path):
                    guard.site.answer(self)
                else:
                    guard._pass_on(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _pass_on

        try:
            self.httpd = http.server.ThreadingHTTPServer((host, port), Handler)
        except OSError as error:
            raise ServerError(
                f"oxigraph serve on {host}:{port}: the port is in use; choose another with "
                "--port (0 picks a free one)"
                if error.errno == errno.EADDRINUSE
                else f"cannot serve on {host}:{port}: {error.strerror or error}"
            ) from None
        self.httpd.daemon_threads = True
        self.host = host
        self.port = self.httpd.server_address[1]
        self._threads: list[threading.Thread] = []

    # -- life cycle --

    def start(self, backend: OxigraphServer) -> QueryGuard:
        self.backend = backend
        for target in (self.httpd.serve_forever, self._watch):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def wait(self) -> str:
        """Block until the guard stops or the server fails for good; return why."""
        assert self.backend is not None
        while not self._stopping.wait(0.5):
            if self._failed is not None:
                return self._failed
            if not self.backend.is_running() and not self._restarting():
                return f"the oxigraph server stopped by itself (pid {self.backend.pid})"
        return "stopped"

    def stop(self) -> None:
        self._stopping.set()
        if self._threads:
            self.httpd.shutdown()
            self._threads = []
        self.httpd.server_close()

    def _restarting(self) -> bool:
        return self._lock.locked()

    # -- the watch --

    def _watch(self) -> None:
        assert self.backend is not None
        while not self._stopping.wait(0.2):
            now = time.monotonic()
            with self._lock:
                late = [
                    f
                    for f in self._flights
                    if f.is_query and not f.stopped and now - f.started > self.timeout + self.grace
                ]
                if not late:
                    continue
                for flight in self._flights:
                    flight.restarted = True
                for flight in late:
                    flight.stopped = True
                began = time.monotonic()
                try:
                    self.backend.restart()
                except Exception as error:  # reported, then serve ends
                    self._failed = f"could not restart the oxigraph server: {error}"
                    self._stopping.set()
                    return
                self.restarts += 1
                self.log.write(
                    f"treatykg: a query ran past {self.timeout:g} s and Oxigraph did not stop "
                    f"it: restarted the server in {time.monotonic() - began:.1f} s (pid "
                    f"{self.backend.pid})\n"
                )
                self.log.flush()

    # -- one request --

    def _pass_on(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        length = handler.headers.get("Content-Length")
        if handler.headers.get("Transfer-Encoding"):
            return self._reply(handler, 411, "send the request body with a Content-Length")
        try:
            body = handler.rfile.read(int(length)) if length else None
        except (ValueError, OSError):
            return None
        flight = _Flight(handler.path)
        assert self.backend is not None
        with self._lock:
            self._flights.add(flight)
            port = self.backend.port
        sent_head = False
        try:
            upstream = http.client.HTTPConnection(self.host, port, timeout=None)
            headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP_BY_HOP}
            upstream.request(handler.command, handler.path, body=body, headers=headers)
            response = upstream.getresponse()
            handler.send_response(response.status, response.reason)
            for key, value in response.getheaders():
                if key.lower() not in _HOP_BY_HOP:
                    handler.send_header(key, value)
            handler.end_headers()
            sent_head = True
            while chunk := response.read1(CHUNK) if handler.command != "HEAD" else b"":
                handler.wfile.write(chunk)
            upstream.close()
        except (OSError, http.client.HTTPException):
            if not sent_head:
                if flight.stopped:
                    self._reply(
                        handler,
                        503,
                        f"query stopped: it ran past the server's {self.timeout:g} s timeout",
                    )
                elif flight.restarted:
                    self._reply(handler, 503, "the server restarted; try again")
                else:
                    self._reply(handler, 502, "the oxigraph server did not answer")
        finally:
            with self._lock:
                self._flights.discard(flight)
        return None

    @staticmethod
    def _reply(handler: http.server.BaseHTTPRequestHandler, status: int, text: str) -> None:
        body = (text + "\n").encode("utf-8")
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "text/plain; charset=utf-8")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except OSError:
            pass  # the client has gone
