"""A local Oxigraph server (the ``oxigraph`` package from PyPI), started and stopped by its pid.

``treatykg serve`` and the tests use :class:`OxigraphServer`::

    with OxigraphServer() as server:          # a free port on 127.0.0.1, in memory
        print(server.query_url)                # http://127.0.0.1:PORT/query

The server runs with ``--union-default-graph``: the graph is stored one named graph per source,
and the stored queries expect the union of those graphs as their default graph, as the embedded
store gives it (see :mod:`treatykg.querying`).

``read_only=True`` runs ``oxigraph serve-read-only`` (no ``/update``, no Graph Store writes: they
answer HTTP 403), which needs a folder; ``timeout`` stops any query that runs longer (Oxigraph's
``--timeout-s``). ``treatykg serve`` uses both by default: see :func:`serve_graph`.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

import pyoxigraph as ox

from treatykg import tempfiles
from treatykg.errors import InputError, TreatyKGError
from treatykg.remote_store import Endpoint, LoadReport, load, verify

READY_TIMEOUT = 20.0
"""Seconds to wait for a new server to answer ``ASK {}``. It answers in ~0.1 s in memory."""

DEFAULT_QUERY_TIMEOUT = 30.0
"""Seconds a query may run on ``treatykg serve`` before the server stops it. Every stored query
answers in well under a second; a runaway one (a cartesian product) would hold a core for good."""

_STORE_FILE = re.compile(
    r"^(CURRENT|IDENTITY|LOCK|LOG(\.old\.\d+)?|MANIFEST-\d+|OPTIONS-\d+|\d+\.(sst|log|blob))"
    r"(\.dbtmp)?$"
)
"""The names of the files of an Oxigraph store (RocksDB) in its folder."""


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


def _die_with_parent() -> None:
    """In the child, before it runs the server: ask Linux to kill it (SIGKILL) when the process
    that started it ends, even by SIGKILL, so that no server outlives a killed treatykg. (Linux
    ties this to the starting thread: servers are started by threads that live as long as they.)
    Elsewhere, nothing."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def check_port_free(host: str, port: int) -> None:
    """Raise :class:`ServerError` if something already listens on ``host:port``."""
    if not port_is_free(host, port):
        raise ServerError(
            f"oxigraph serve on {host}:{port}: the port is in use; "
            "choose another with --port (0 picks a free one)"
        )


class EndpointUrls:
    """The URLs of a server at ``host:port``: ``/query``, ``/update`` and ``/store``."""

    host: str
    port: int

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


class OxigraphServer(EndpointUrls):
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
        read_only: bool = False,
        timeout: float | None = None,
        owns_location: bool = False,
    ) -> None:
        if read_only and location is None:
            raise ValueError("a read-only Oxigraph server needs a location")
        self.location = Path(location) if location is not None else None
        self.host = host
        self.port = port
        self.union_default_graph = union_default_graph
        self.ready_timeout = ready_timeout
        self.read_only = read_only
        self.timeout = timeout
        self.owns_location = owns_location
        """True: ``location`` is a private temporary folder, removed when the server stops."""
        self.process: subprocess.Popen[bytes] | None = None
        self._log: Path | None = None

    # -- URLs (base, query, update, store: from EndpointUrls) --

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
        mode = "serve-read-only" if self.read_only else "serve"
        command = [oxigraph_binary(), mode, "--bind", f"{self.host}:{self.port}"]
        if self.location is not None:
            command += ["--location", str(self.location)]
        if self.union_default_graph:
            command.append("--union-default-graph")
        if self.timeout is not None:
            command += ["--timeout-s", f"{self.timeout:g}"]
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
            else:
                # Checked first: the readiness probe would otherwise be answered by whatever
                # already serves there.
                check_port_free(self.host, self.port)
            try:
                self._start_once()
                return self
            except ServerError:
                if not chosen or attempt == 2:
                    raise
                self.port = 0
        return self

    def _start_once(self) -> None:
        handle, self._log = tempfiles.private_file("oxigraph", ".log")
        with os.fdopen(handle, "wb") as log_file:
            self.process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                # Its own session: Ctrl-C reaches treatykg, which then stops the server in order.
                start_new_session=True,
                # And if treatykg is killed outright, the server goes too (Linux).
                preexec_fn=_die_with_parent,
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
        self._halt()
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
        """Stop the server this object started: SIGTERM, then SIGKILL after ``timeout`` s; remove
        its folder if it is a private temporary one."""
        self._halt(timeout)
        if self.owns_location and self.location is not None:
            shutil.rmtree(self.location, ignore_errors=True)

    def _halt(self, timeout: float = 10.0) -> None:
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

    def restart(self) -> None:
        """Kill the server at once and start it again on the same port and folder."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._halt()
        self.start()

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
    result = subprocess.run(
        [oxigraph_binary(), "load", "--location", str(location), "--file", str(nquads)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        lines = [ln for ln in (result.stderr or result.stdout).splitlines() if ln.strip()]
        raise ServerError(f"oxigraph load into {location} failed: {lines[-1] if lines else ''}")


def check_location(location: Path) -> str:
    """Say what the folder ``location`` is, for a store to be kept there: "new" (it does not
    exist yet: created now), "empty" or "store" (it holds an Oxigraph store).

    Raises :class:`InputError` — before anything is written — when it is not a folder, cannot be
    written to (a read-only file system, no permission), or holds anything that is not an
    Oxigraph store: a store is never written into a folder of other files.
    """
    if location.exists() and not location.is_dir():
        raise InputError(f"{location}: not a folder")
    kind = "new"
    if location.is_dir():
        try:
            entries = sorted(p.name for p in location.iterdir())
        except OSError as error:
            raise InputError(f"{location}: cannot read this folder ({_why(error)})") from None
        if entries:
            foreign = [name for name in entries if not _STORE_FILE.match(name)]
            if foreign or "CURRENT" not in entries:
                example = foreign[0] if foreign else entries[0]
                raise InputError(
                    f"{location}: holds files that are not an Oxigraph store (such as "
                    f"{example!r}); give a new or empty folder, or one that holds a store"
                )
            kind = "store"
        else:
            kind = "empty"
    try:
        location.mkdir(parents=True, exist_ok=True)
        probe = tempfiles.private_dir("probe", parent=location)
        probe.rmdir()
    except OSError as error:
        if kind == "new":
            # Leave no empty folder behind for a store that could not be written.
            with contextlib.suppress(OSError):
                location.rmdir()
        raise InputError(f"{location}: cannot write a store there ({_why(error)})") from None
    return kind


def _why(error: OSError) -> str:
    return error.strerror.lower() if error.strerror else str(error)


def serve_graph(
    sources: list[tuple[Path, str]],
    *,
    location: Path | None = None,
    port: int = 0,
    read_only: bool = False,
    timeout: float | None = None,
) -> tuple[OxigraphServer, LoadReport]:
    """Start a server holding ``sources`` ((file, graph IRI) pairs) and return it, started, with
    the report of the counts it holds.

    A new or empty on-disk ``location`` is filled by ``oxigraph load`` before the server starts:
    on disk it is ~16 times faster than over HTTP (benchmarks/load_benchmark.py: 100,000 triples
    in 0.7 s against 11.6 s). A folder that already holds a store (whose other graphs are kept)
    is reloaded over HTTP by :func:`treatykg.remote_store.load`. Without ``location`` the store
    is kept in a private temporary folder, removed when the server stops. ``read_only`` serves
    the result with ``oxigraph serve-read-only``. Either way the counts are checked.
    ``timeout`` is Oxigraph's own query timeout (seconds). The caller stops the server.
    """
    if port:
        check_port_free("127.0.0.1", port)  # before any work
    kind = check_location(location) if location is not None else None
    owned = False
    if location is None:
        # A private folder rather than memory: a read-only server needs one, and a server that
        # is restarted (see treatykg.query_guard) keeps what it holds.
        location, kind, owned = tempfiles.private_dir("serve"), "empty", True
    if kind == "store" and read_only:
        # Reload through a private writable server, then serve the folder read-only.
        with OxigraphServer(location=location) as writer:
            loaded = load(writer.endpoint, sources)
        server = OxigraphServer(location=location, port=port, read_only=True, timeout=timeout)
        local = {g.iri: g.local for g in loaded.graphs}
        return server, _started_and_verified(server, local, loaded.protocol, loaded.seconds)
    if kind in ("new", "empty"):
        assert location is not None
        started = time.monotonic()
        try:
            local = _bulk_load_sources(sources, location)
        except BaseException:
            if owned:
                shutil.rmtree(location, ignore_errors=True)
            raise
        server = OxigraphServer(
            location=location, port=port, read_only=read_only, timeout=timeout, owns_location=owned
        )
        return server, _started_and_verified(
            server, local, "oxigraph load (bulk)", time.monotonic() - started
        )
    server = OxigraphServer(location=location, port=port, timeout=timeout)
    server.start()
    try:
        return server, load(server.endpoint, sources)
    except BaseException:
        server.stop()
        raise


def _bulk_load_sources(sources: list[tuple[Path, str]], location: Path) -> dict[str, int]:
    """Fill ``location`` with ``sources`` by ``oxigraph load``; return each graph's count."""
    from treatykg.loading import load_store

    store = load_store(sources)
    local = {
        solution["g"].value: int(solution["n"].value)
        for solution in store.query(
            "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
        )
    }
    scratch = tempfiles.private_dir("serve")
    try:
        nquads = scratch / "graph.nq"
        store.dump(nquads, ox.RdfFormat.N_QUADS)
        bulk_load(location, nquads)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return dict(sorted(local.items()))


def _started_and_verified(
    server: OxigraphServer, local: dict[str, int], protocol: str, seconds: float
) -> LoadReport:
    try:
        server.start()
        return verify(server.endpoint, local, protocol=protocol, seconds=seconds)
    except BaseException:
        server.stop()
        raise


def check_port(port: int) -> int:
    """Return ``port`` if it is a TCP port number (0 means: choose a free one)."""
    if not 0 <= port <= 65535:
        raise InputError(f"bad port {port}: expected 0 to 65535")
    return port


def check_timeout(seconds: float) -> float:
    """Return ``seconds`` if it is a usable query timeout (more than 0, finite)."""
    if not math.isfinite(seconds) or seconds <= 0:
        raise InputError(f"bad --timeout {seconds:g}: expected a number of seconds above 0")
    return seconds
