"""Shared fixtures: a local Oxigraph server for the tests marked ``server``.

The server is :class:`treatykg.server.OxigraphServer`, the one ``treatykg serve`` runs: ``oxigraph
serve --union-default-graph`` in memory on a free port of 127.0.0.1, started by the test session
and stopped by its pid (never by name). Nothing here reaches beyond this machine: requests go
through :class:`treatykg.remote_store.RemoteStore`, which opens its own connections and ignores
any proxy the environment names.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from treatykg.loading import count_triples
from treatykg.remote_store import RemoteStore
from treatykg.server import OxigraphServer

# --- a temporary folder of each test process ---------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    """Give each test process (each xdist worker) a temporary folder of its own, for itself and
    the commands it starts. treatykg removes the temporary files that a killed treatykg process
    left behind, and says so: tests that kill a process on purpose would otherwise make a
    command started by another worker print that line first."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    folder = Path(tempfile.gettempdir()) / f"treatykg-tests-{os.getpid()}-{worker}"
    folder.mkdir(exist_ok=True)
    os.environ["TMPDIR"] = str(folder)
    tempfile.tempdir = str(folder)
    config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
    # A test run started in the background by a shell script inherits SIGINT ignored, and so
    # would the commands the tests interrupt with it (Ctrl-C tests); a handler of Python's own
    # is reset to the default in every process started from here.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


# --- the order of the files --------------------------------------------------------------------

LONGEST_FIRST = [
    "test_reliability.py",
    "test_engines.py",
    "test_store.py",
    "test_reasoning.py",
    "test_jena.py",
    "test_site.py",
    "test_shapes.py",
    "test_queries.py",
    "test_validation_disk.py",
    "test_wikidata.py",
    "test_query_cli.py",
    "test_cli.py",
    "test_validation.py",
]
"""The files that take longest (2-20 s each on 2 idle cores, more on busy ones), longest first;
the others (under 2 s each) follow in pytest's order. With ``--dist loadfile`` (pyproject.toml) a
worker runs a whole file and then takes the next one: a long file taken last would leave the other
workers idle until it ends, and the short ones at the end let both workers finish together."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: files stay whole


@pytest.fixture(scope="session")
def oxigraph_server() -> Iterator[OxigraphServer]:
    """An in-memory ``oxigraph serve`` shared by the session; stopped (by pid) at its end."""
    with OxigraphServer() as server:
        yield server


@pytest.fixture
def fresh_server(oxigraph_server: OxigraphServer) -> OxigraphServer:
    """The session's Oxigraph server, emptied (``CLEAR ALL``) before the test."""
    RemoteStore(oxigraph_server.endpoint).update("CLEAR ALL")
    return oxigraph_server


@pytest.fixture(scope="session")
def local_counts() -> dict[str, int]:
    """The number of triples of each named graph of the project, counted locally."""
    return count_triples()


# --- no internet: modules that talk to servers ask for this fixture ------------------------------


def _local(host: object) -> bool:
    if not isinstance(host, str):
        return True  # a Unix socket path, or a file descriptor
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(scope="module")
def no_internet() -> Iterator[None]:
    """Refuse every connection and name lookup of this process that is not to this machine."""
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if not _local(host):
            raise OSError(f"the tests do not reach the internet (connection to {host})")
        return real_connect(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host is not None and not _local(host):
            raise socket.gaierror(f"the tests do not reach the internet (lookup of {host})")
        return real_getaddrinfo(host, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", connect)
        patch.setattr(socket, "getaddrinfo", getaddrinfo)
        yield
