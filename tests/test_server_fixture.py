"""The ``oxigraph_server`` fixture starts a server that answers, and owns its process."""

from __future__ import annotations

import os
import urllib.request

import pytest

pytestmark = pytest.mark.server


def test_server_answers_ask_and_its_process_is_alive(oxigraph_server):
    assert oxigraph_server.ask("ASK {}") is True
    os.kill(oxigraph_server.pid, 0)  # raises if there is no such process
    assert oxigraph_server.process.poll() is None
    assert oxigraph_server.query_url == oxigraph_server.base_url + "/query"


def test_fresh_server_starts_empty_and_clear_empties_it(fresh_server):
    everything = "ASK { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"
    assert fresh_server.ask(everything) is False

    request = urllib.request.Request(
        fresh_server.store_url + "?graph=https%3A%2F%2Fw3id.org%2Ftreatykg%2Fgraph%2Ftest",
        data=b"<https://example.org/s> <https://example.org/p> 'o' .",
        headers={"Content-Type": "text/turtle"},
        method="PUT",
    )
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request) as response:
        assert response.status in (201, 204)
    assert fresh_server.ask(everything) is True

    fresh_server.clear()
    assert fresh_server.ask(everything) is False
