"""A local Oxigraph server (the ``oxigraph`` package from PyPI), started and stopped by its pid.

``treatykg serve`` and the tests use :class:`OxigraphServer`::

    with OxigraphServer() as server:          # a free port on 127.0.0.1, in memory
        print(server.query_url)                # http://127.0.0.1:PORT/query

The server runs with ``--union-default-graph``: the graph is stored one named graph per source,
and the stored queries expect the union of those graphs as their default graph, as the embedded
store gives it (see :mod:`treatykg.querying`).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

import pyoxigraph as ox

from treatykg.errors import InputError, TreatyKGError
from treatykg.remote_store import Endpoint, LoadReport, load, verify

READY_TIMEOUT = 20.0
"""Seconds to wait for a new server to answer ``ASK {}``. It answers in ~0.1 s in memory."""


class ServerError(TreatyKGError):
    """The Oxigraph server could not be found, started or stopped (exit code 2)."""


def oxigraph_binary() -> str:
    """Return the path of the ``oxigraph`` command: next to this Python first, then on PATH."""
    beside = Path(sys.executable).parent / ("oxigraph.exe" if os.name == "nt" else "oxigraph")
    if beside.is_file():
        return str(beside)
    found = shutil.which("oxigraph")
    if found:
        return found
    raise ServerError("the oxigraph server is not installed: pip install oxigraph")


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on ``host`` now (another process may take it later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def port_is_free(host: str, port: int) -> bool:
    """Return True if nothing listens on ``host:port`` and it can be bound.

    The probe binds as servers do (oxigraph among them), with SO_REUSEADDR: a port whose last
    connections linger in TIME_WAIT after a server stopped is free to serve again; one that
    something listens on is not.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


class OxigraphServer:
    """An ``oxigraph serve`` process on ``host:port``: in memory, or on disk at ``location``.

    ``port=0`` picks a free port. :meth:`start` returns once the server answers a query;
    :meth:`stop` ends the process this object started, and only that one (by its pid).
    """

    def __init__(
        self,
        *,
        location: Path | str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        union_default_graph: bool = True,
        ready_timeout: float = READY_TIMEOUT,
    ) -> None:
        self.location = Path(location) if location is not None else None
        self.host = host
        self.port = port
        self.union_default_graph = union_default_graph
        self.ready_timeout = ready_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._log: Path | None = None

    # -- URLs --

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def query_url(self) -> str:
        return self.base_url + "/query"

    @property
    def update_url(self) -> str:
        return self.base_url + "/update"

    @property
    def store_url(self) -> str:
        return self.base_url + "/store"

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint(self.query_url, self.update_url, self.store_url)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # -- life cycle --

    def command(self) -> list[str]:
        """The command line that starts this server."""
        command = [oxigraph_binary(), "serve", "--bind", f"{self.host}:{self.port}"]
        if self.location is not None:
            command += ["--location", str(self.location)]
        if self.union_default_graph:
            command.append("--union-default-graph")
        return command

    def start(self) -> OxigraphServer:
        """Start the server and wait until it answers; raise :class:`ServerError` if it does not."""
        if self.is_running():
            return self
        if self.location is not None:
            self.location.mkdir(parents=True, exist_ok=True)
        for attempt in range(3):  # a free port may be taken between choosing and binding it
            chosen = self.port == 0
            if chosen:
                self.port = free_port(self.host)
            elif not port_is_free(self.host, self.port):
                # Checked first: the readiness probe would otherwise be answered by whatever
                # already serves there.
                raise ServerError(
                    f"oxigraph serve on {self.host}:{self.port}: the port is in use; "
                    "choose another with --port (0 picks a free one)"
                )
            try:
                self._start_once()
                return self
            except ServerError:
                if not chosen or attempt == 2:
                    raise
                self.port = 0
        return self

    def _start_once(self) -> None:
        handle, log = tempfile.mkstemp(prefix="treatykg-oxigraph-", suffix=".log")
        self._log = Path(log)
        with os.fdopen(handle, "wb") as log_file:
            self.process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                # Its own session: Ctrl-C reaches treatykg, which then stops the server in order.
                start_new_session=True,
            )
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                reason = self._last_log_line() or f"exit status {self.process.returncode}"
                self.process = None
                raise ServerError(f"oxigraph serve on {self.host}:{self.port} stopped: {reason}")
            if self._answers() and self.process.poll() is None:
                return
            time.sleep(0.05)
        self.stop()
        raise ServerError(
            f"oxigraph serve on {self.host}:{self.port} did not answer within "
            f"{self.ready_timeout:.0f} s"
        )

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.query_url + "?query=ASK%7B%7D", timeout=1) as answer:
                return answer.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def _last_log_line(self) -> str:
        if self._log is None or not self._log.exists():
            return ""
        lines = [ln.strip() for ln in self._log.read_text("utf-8", "replace").splitlines()]
        lines = [ln for ln in lines if ln]
        return lines[-1] if lines else ""

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server this object started: SIGTERM, then SIGKILL after ``timeout`` s."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.unlink(missing_ok=True)
            self._log = None

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash or a power cut would."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.stop()

    def wait(self) -> int:
        """Wait until the server process ends; return its exit status."""
        if self.process is None:
            return 0
        return self.process.wait()

    def __enter__(self) -> OxigraphServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


def bulk_load(location: Path, nquads: Path) -> None:
    """Load an N-Quads file into the on-disk store at ``location`` with ``oxigraph load``.

    Much faster than HTTP into an on-disk server (see benchmarks/); the directory must not be
    held by a running server. Atomic: the file is loaded entirely or not at all.
    """
    location.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [oxigraph_binary(), "load", "--location", str(location), "--file", str(nquads)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        lines = [ln for ln in (result.stderr or result.stdout).splitlines() if ln.strip()]
        raise ServerError(f"oxigraph load into {location} failed: {lines[-1] if lines else ''}")


def serve_graph(
    sources: list[tuple[Path, str]], *, location: Path | None = None, port: int = 0
) -> tuple[OxigraphServer, LoadReport]:
    """Start a server holding ``sources`` ((file, graph IRI) pairs) and return it, started, with
    the report of the counts it holds.

    A new on-disk ``location`` is filled by ``oxigraph load`` before the server starts: on disk
    it is ~16 times faster than over HTTP (benchmarks/load_benchmark.py: 100,000 triples in
    0.7 s against 11.6 s). Otherwise (in memory, or a folder that already holds a store, whose
    other graphs are kept) the server starts and :func:`treatykg.remote_store.load` replaces
    the graphs. Either way the counts are checked. The caller stops the server.
    """
    from treatykg.loading import load_store

    fresh = location is not None and (not location.exists() or not any(location.iterdir()))
    server = OxigraphServer(location=location, port=port)
    if not fresh:
        server.start()
        try:
            return server, load(server.endpoint, sources)
        except BaseException:
            server.stop()
            raise
    assert location is not None
    started = time.monotonic()
    store = load_store(sources)
    local = {
        solution["g"].value: int(solution["n"].value)
        for solution in store.query(
            "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
        )
    }
    with tempfile.TemporaryDirectory(prefix="treatykg-serve-") as tmp:
        nquads = Path(tmp) / "graph.nq"
        store.dump(nquads, ox.RdfFormat.N_QUADS)
        bulk_load(location, nquads)
    server.start()
    try:
        report = verify(
            server.endpoint,
            dict(sorted(local.items())),
            protocol="oxigraph load (bulk)",
            seconds=time.monotonic() - started,
        )
    except BaseException:
        server.stop()
        raise
    return server, report


def check_port(port: int) -> int:
    """Return ``port`` if it is a TCP port number (0 means: choose a free one)."""
    if not 0 <= port <= 65535:
        raise InputError(f"bad port {port}: expected 0 to 65535")
    return port
