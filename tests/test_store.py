"""``treatykg load`` and ``treatykg serve`` against a real Oxigraph server (no mocks).

Each module-scoped server is started by :class:`treatykg.server.OxigraphServer` (in memory,
``--union-default-graph``, as ``treatykg serve`` runs it) and stopped by its pid.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest

from treatykg import catalogue, querying
from treatykg.cli import main
from treatykg.loading import count_triples, load_store, project_files
from treatykg.namespaces import GRAPH
from treatykg.remote_store import STAGING, RemoteStore, resolve_endpoint
from treatykg.server import OxigraphServer, serve_graph

pytestmark = pytest.mark.server

QUERIES = catalogue.stored_queries()
ONTOLOGY = GRAPH + "ontology"
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --- helpers ------------------------------------------------------------------------------------


def snapshot(server: OxigraphServer) -> Counter:
    """Every quad in the store, blank nodes written as ``_:`` (their labels change per load)."""
    request = urllib.request.Request(server.store_url, headers={"Accept": "application/n-quads"})
    with _DIRECT.open(request, timeout=30) as response:
        quads = ox.parse(response.read(), format=ox.RdfFormat.N_QUADS)

    def term(t):
        return "_:" if isinstance(t, ox.BlankNode) else str(t)

    return Counter(
        (term(q.subject), str(q.predicate), term(q.object), str(q.graph_name)) for q in quads
    )


def graph_counts(server: OxigraphServer) -> dict[str, int]:
    rows = RemoteStore(server.endpoint).select(
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    )
    return {row["g"]: int(row["n"]) for row in rows}


def run(*argv: str) -> int:
    return main(["load", *argv])


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    with OxigraphServer() as running:
        yield running


@pytest.fixture
def empty(server):
    """The module's server, emptied."""
    RemoteStore(server.endpoint).update("CLEAR ALL")
    return server


@pytest.fixture(scope="module")
def local_counts() -> dict[str, int]:
    return count_triples()


# --- load ---------------------------------------------------------------------------------------


def test_the_project_has_graphs_and_queries_to_load():
    # The parametrised tests below must not shrink to nothing.
    assert len({graph for _path, graph in project_files()}) >= 2
    assert len(QUERIES) >= 5


def test_load_then_count(empty, local_counts, capsys):
    assert run("--endpoint", empty.base_url) == 0
    out = capsys.readouterr().out
    assert graph_counts(empty) == local_counts
    for graph, n in local_counts.items():
        assert re.search(rf"^{re.escape(graph)}\s+{n}\s+0\s+{n}\s+ok$", out, re.M), out
    assert "every graph holds the local count" in out


def test_load_twice_with_replace_gives_the_same_store(empty, local_counts, capsys):
    assert run("--endpoint", empty.base_url) == 0
    first = snapshot(empty)
    assert run("--endpoint", empty.base_url, "--replace") == 0
    assert snapshot(empty) == first
    assert graph_counts(empty) == local_counts  # no staging graph left behind
    out = capsys.readouterr().out
    n = local_counts[ONTOLOGY]
    assert re.search(rf"^{re.escape(ONTOLOGY)}\s+{n}\s+{n}\s+{n}\s+ok$", out, re.M), out


def test_replace_leaves_other_graphs_alone(empty, local_counts, capsys):
    other = "https://example.org/graph/someone-else"
    RemoteStore(empty.endpoint).update(
        f"INSERT DATA {{ GRAPH <{other}> {{ <https://example.org/s> <https://example.org/p> 1 }} }}"
    )
    assert run("--endpoint", empty.base_url) == 0
    assert graph_counts(empty) == {**local_counts, other: 1}


def test_append_adds_to_what_the_graph_holds(empty, local_counts, capsys):
    assert run("--endpoint", empty.base_url) == 0
    assert run("--endpoint", empty.base_url, "--append") == 0
    out = capsys.readouterr().out
    assert "with --append" in out and "MISMATCH" not in out
    # Named nodes are the same triples again; blank nodes are new nodes each time.
    blank = sum(
        1
        for q in load_store()
        if isinstance(q.subject, ox.BlankNode) or isinstance(q.object, ox.BlankNode)
    )
    counts = graph_counts(empty)
    assert sum(counts.values()) == sum(local_counts.values()) + blank


def test_graph_option_loads_everything_into_one_graph(empty, capsys):
    target = "https://example.org/graph/treatykg-all"
    assert run("--endpoint", empty.base_url, "--graph", target) == 0
    distinct = len({(q.subject, q.predicate, q.object) for q in load_store()})
    assert graph_counts(empty) == {target: distinct}
    assert "Graph Store PUT in" in capsys.readouterr().out  # one PUT, no staging


def test_without_a_graph_store_it_loads_by_sparql_update(empty, local_counts, capsys):
    assert run("--endpoint", empty.base_url, "--store-url", "none") == 0
    assert graph_counts(empty) == local_counts
    assert "by SPARQL Update" in capsys.readouterr().out


def test_a_store_url_that_is_not_a_graph_store_falls_back_to_update(empty, local_counts, capsys):
    assert run("--endpoint", empty.base_url, "--store-url", empty.base_url + "/no-such-path") == 0
    captured = capsys.readouterr()
    assert graph_counts(empty) == local_counts
    assert "no Graph Store endpoint at" in captured.err
    assert "by SPARQL Update" in captured.out


def test_query_update_and_store_urls_can_be_given_one_by_one(empty, local_counts):
    code = run(
        "--query-url", empty.query_url,
        "--update-url", empty.update_url,
        "--store-url", empty.store_url,
    )  # fmt: skip
    assert code == 0
    assert graph_counts(empty) == local_counts


def test_a_malformed_file_leaves_the_store_unchanged(empty, tmp_path, capsys):
    good = write(tmp_path / "extra.ttl", "<https://example.org/a> <https://example.org/b> 1 .\n")
    assert run("--endpoint", empty.base_url, str(good)) == 0
    before = snapshot(empty)
    bad = write(tmp_path / "broken.ttl", "<https://example.org/a> <https://example.org/b> .\n")
    write(good, "<https://example.org/a> <https://example.org/b> 2 .\n")
    capsys.readouterr()
    assert run("--endpoint", empty.base_url, str(good), str(bad)) == 2
    err = capsys.readouterr().err
    assert re.fullmatch(rf"treatykg: error: {re.escape(str(bad))}:1:\d+: .+\n", err), err
    assert snapshot(empty) == before


def test_progress_is_shown_on_request(empty, tmp_path, capsys):
    lines = (f"<https://example.org/s{i}> <https://example.org/p> {i} .\n" for i in range(30000))
    big = write(tmp_path / "big.ttl", "".join(lines))
    assert run("--endpoint", empty.base_url, "--progress", str(big)) == 0
    err = capsys.readouterr().err
    assert re.search(r"^uploading user/big: .* of [\d.]+ MB \(100%\)$", err, re.M), err
    assert run("--endpoint", empty.base_url, "--no-progress", str(big)) == 0
    assert "uploading" not in capsys.readouterr().err


# --- every stored query through the endpoint ----------------------------------------------------


@pytest.fixture(scope="module")
def loaded(server):
    """The module's server loaded once by ``treatykg load``."""
    RemoteStore(server.endpoint).update("CLEAR ALL")
    assert main(["load", "--endpoint", server.base_url]) == 0
    return server


@pytest.fixture(scope="module")
def embedded() -> ox.Store:
    return load_store()


def _rows(answer: querying.Answer) -> Counter:
    def term(t):
        return "_:" if isinstance(t, ox.BlankNode) else str(t)

    if answer.form == "ASK":
        return Counter([answer.boolean])
    if answer.form == "SELECT":
        return Counter(tuple(term(t) for t in row) for row in answer.rows)
    return Counter((term(t.subject), str(t.predicate), term(t.object)) for t in answer.triples)


def _offline(query: catalogue.StoredQuery) -> bool:
    # Tests never touch the internet: a federated query (SERVICE <https://...>) is left out.
    return not re.search(r"^\s*SERVICE\b", query.text, re.I | re.M)


OFFLINE = [q for q in QUERIES if _offline(q)]


def test_the_endpoint_comparison_leaves_out_only_federated_queries():
    left_out = [q.name for q in QUERIES if q not in OFFLINE]
    assert all(name.startswith("federated-") for name in left_out), left_out
    assert len(OFFLINE) >= 5


@pytest.mark.parametrize("query", OFFLINE, ids=[q.name for q in OFFLINE])
def test_every_stored_query_gives_the_same_rows_through_the_endpoint(
    query, loaded, embedded, monkeypatch
):
    for variable in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    here = querying.run(query, store=embedded)
    there = querying.run(query, endpoint=loaded.query_url)
    assert here.variables == there.variables
    assert _rows(there) == _rows(here)


# --- serve --------------------------------------------------------------------------------------


def test_serve_prints_its_urls_serves_the_graph_and_stops_on_ctrl_c(local_counts):
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    process = subprocess.Popen(
        [sys.executable, "-m", "treatykg", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        lines = []
        deadline = time.monotonic() + 60
        while not lines or not lines[-1].startswith("Press Ctrl-C"):
            line = process.stdout.readline()
            assert line and time.monotonic() < deadline, "".join(lines) + process.stderr.read()
            lines.append(line)
        out = "".join(lines)
        urls = dict(
            re.findall(r"^  (query|update|store):\s+(http://127\.0\.0\.1:\d+/\w+)$", out, re.M)
        )
        assert set(urls) == {"query", "update", "store"}, out
        pid = int(re.search(r"pid (\d+)", out).group(1))
        served = RemoteStore(resolve_endpoint(query_url=urls["query"], update_url=urls["update"]))
        for graph, n in local_counts.items():
            assert served.count(graph) == n
        assert served.graphs_under(STAGING) == []
        # The union of the graphs is the default graph, as the stored queries expect.
        assert served.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")[0]["n"] != "0"

        process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert process.wait(timeout=15) == 0
        assert "stopped" in process.stderr.read()
        time.sleep(0.1)
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # the server it started is gone
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serve_refuses_a_port_in_use(server, capsys):
    port = server.base_url.rsplit(":", 1)[1]
    assert main(["serve", "--port", port]) == 2
    err = capsys.readouterr().err
    assert err.startswith("treatykg: error: oxigraph serve on 127.0.0.1:" + port), err
    assert len(err.splitlines()) == 1


def test_a_new_folder_is_bulk_loaded_and_an_existing_one_reloaded_over_http(tmp_path, local_counts):
    location = tmp_path / "store"
    running, report = serve_graph(project_files(), location=location)
    try:
        assert report.protocol == "oxigraph load (bulk)" and report.ok
        assert graph_counts(running) == local_counts
        # A graph of someone else's in the store: the next serve keeps it.
        RemoteStore(running.endpoint).update(
            "INSERT DATA { GRAPH <https://example.org/g> { <https://example.org/s> "
            "<https://example.org/p> 1 } }"
        )
    finally:
        running.stop()
    running, report = serve_graph(project_files(), location=location)
    try:
        assert report.protocol.startswith("Graph Store PUT") and report.ok
        assert graph_counts(running) == {**local_counts, "https://example.org/g": 1}
    finally:
        running.stop()
