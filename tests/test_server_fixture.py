"""The ``oxigraph_server`` fixture starts a server that answers, and owns its process."""

from __future__ import annotations

import os
import socket

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


def _port_in_time_wait() -> int:
    """A loopback port whose only trace is a connection the server side closed (TIME_WAIT), as
    a stopped server leaves behind; nothing listens on it."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = listener.accept()
            accepted.close()  # the server side closes first: its end lingers in TIME_WAIT
            client.recv(1)
    return port


def test_a_server_restarts_at_once_on_the_port_it_just_left():
    from treatykg.server import OxigraphServer, port_is_free

    port = _port_in_time_wait()
    assert port_is_free("127.0.0.1", port)
    with OxigraphServer(port=port) as running:
        assert running.port == port
        assert RemoteStore(running.endpoint).ask("ASK {}") is True
        assert not port_is_free("127.0.0.1", port)  # now something listens there
