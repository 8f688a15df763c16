"""Shared fixtures: a local Oxigraph server for the tests marked ``server``."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

READY_TIMEOUT_S = 20.0
# Talk to the local server directly, whatever proxy the environment names.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class OxigraphServer:
    """A running ``oxigraph serve`` (in-memory) on 127.0.0.1, owned by the test session."""

    base_url: str
    process: subprocess.Popen

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def query_url(self) -> str:
        return self.base_url + "/query"

    @property
    def update_url(self) -> str:
        return self.base_url + "/update"

    @property
    def store_url(self) -> str:
        return self.base_url + "/store"

    def ask(self, query: str) -> bool:
        """Run a SPARQL ASK query and return its boolean."""
        url = self.query_url + "?" + urllib.parse.urlencode({"query": query})
        request = urllib.request.Request(url, headers={"Accept": "application/sparql-results+json"})
        with _OPENER.open(request, timeout=10) as response:
            return bool(json.load(response)["boolean"])

    def update(self, update: str) -> None:
        """Run a SPARQL update."""
        request = urllib.request.Request(
            self.update_url,
            data=update.encode("utf-8"),
            headers={"Content-Type": "application/sparql-update"},
            method="POST",
        )
        with _OPENER.open(request, timeout=30):
            pass

    def clear(self) -> None:
        """Empty the store (``CLEAR ALL``)."""
        self.update("CLEAR ALL")


def _oxigraph_executable() -> str:
    # The venv's own console script first (the `oxigraph` package installs it next to python).
    beside = Path(sys.executable).parent / "oxigraph"
    if beside.is_file():
        return str(beside)
    found = shutil.which("oxigraph")
    if found is None:
        pytest.fail("the `oxigraph` server executable is not installed (pip install oxigraph)")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OxigraphServer]:
    """Start ``oxigraph serve`` in memory on a free port; stop that process (by pid) at the end."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("oxigraph") / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [_oxigraph_executable(), "serve", "--bind", f"127.0.0.1:{port}"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = OxigraphServer(base_url=f"http://127.0.0.1:{port}", process=process)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"oxigraph exited with {process.returncode}: {log_path.read_text()}")
            try:
                server.ask("ASK {}")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    pytest.fail(f"oxigraph not ready after {READY_TIMEOUT_S} s: {log_path}")
                time.sleep(0.1)
        yield server
    finally:
        _stop(process)


@pytest.fixture
def fresh_server(oxigraph_server: OxigraphServer) -> OxigraphServer:
    """The session's Oxigraph server, emptied before the test."""
    oxigraph_server.clear()
    return oxigraph_server
