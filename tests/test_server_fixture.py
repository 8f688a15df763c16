"""The ``oxigraph_server`` fixture starts a server that answers, and owns its process."""

from __future__ import annotations

import os

import pytest

from treatykg.remote_store import RemoteStore

pytestmark = pytest.mark.server

EVERYTHING = "ASK { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"
TRIPLE = "<https://example.org/s> <https://example.org/p> 'o' ."


def test_server_answers_ask_and_its_process_is_alive(oxigraph_server):
    assert RemoteStore(oxigraph_server.endpoint).ask("ASK {}") is True
    assert oxigraph_server.is_running()
    os.kill(oxigraph_server.pid, 0)  # raises if there is no such process
    assert oxigraph_server.base_url.startswith("http://127.0.0.1:")
    assert oxigraph_server.query_url == oxigraph_server.base_url + "/query"
    assert oxigraph_server.update_url == oxigraph_server.base_url + "/update"
    assert oxigraph_server.store_url == oxigraph_server.base_url + "/store"


def test_fresh_server_starts_empty_and_serves_the_union_of_its_graphs(fresh_server, tmp_path):
    store = RemoteStore(fresh_server.endpoint)
    assert store.ask(EVERYTHING) is False

    data = tmp_path / "one.nt"
    data.write_text(TRIPLE + "\n", encoding="utf-8")
    graph = "https://w3id.org/treatykg/graph/test"
    assert store.put_graph(graph, data) is True  # the Graph Store endpoint is there
    assert store.count(graph) == 1
    # --union-default-graph: a query without GRAPH sees the named graphs, as the stored
    # queries expect.
    assert store.ask("ASK { <https://example.org/s> ?p ?o }") is True

    store.update("CLEAR ALL")
    assert store.ask(EVERYTHING) is False


def test_a_server_stops_by_its_pid_and_only_that_process():
    from treatykg.server import OxigraphServer

    with OxigraphServer() as running:
        pid = running.pid
        assert RemoteStore(running.endpoint).ask("ASK {}") is True
    assert not running.is_running()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
