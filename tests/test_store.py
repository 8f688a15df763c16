"""``treatykg load`` and ``treatykg serve`` against a real Oxigraph server (no mocks).

The servers are :class:`treatykg.server.OxigraphServer` (in memory, ``--union-default-graph``, as
``treatykg serve`` runs them): the session's own (``oxigraph_server`` and ``fresh_server``, see
conftest.py) and one this module starts for the stored queries; each is stopped by its pid.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest

from treatykg import catalogue, querying
from treatykg.cli import build_parser, main
from treatykg.loading import load_store, project_files
from treatykg.namespaces import GRAPH
from treatykg.remote_store import (
    STAGING,
    HttpClient,
    RemoteStore,
    RemoteStoreError,
    resolve_endpoint,
)
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


# --- load ---------------------------------------------------------------------------------------


def test_the_project_has_graphs_and_queries_to_load():
    # The parametrised tests below must not shrink to nothing.
    assert len({graph for _path, graph in project_files()}) >= 2
    assert len(QUERIES) >= 5


def test_load_then_count(fresh_server, local_counts, capsys):
    assert run("--endpoint", fresh_server.base_url) == 0
    out = capsys.readouterr().out
    assert graph_counts(fresh_server) == local_counts
    for graph, n in local_counts.items():
        assert re.search(rf"^{re.escape(graph)}\s+{n}\s+0\s+{n}\s+ok$", out, re.M), out
    assert "every graph holds the local count" in out


def test_graphs_are_counted_in_batches_and_a_missing_graph_counts_zero(fresh_server, monkeypatch):
    from treatykg import remote_store

    graphs = [f"https://example.org/graph/g{i}" for i in range(5)]
    for i, graph in enumerate(graphs[:4]):
        triples = " ".join(
            f"<https://example.org/s{j}> <https://example.org/p> {j} ." for j in range(i)
        )
        RemoteStore(fresh_server.endpoint).update(
            f"INSERT DATA {{ GRAPH <{graph}> {{ {triples} }} }}"
        )
    asked = []
    store = RemoteStore(fresh_server.endpoint)
    select = store.select
    monkeypatch.setattr(store, "select", lambda query: asked.append(query) or select(query))
    monkeypatch.setattr(remote_store, "COUNT_BATCH", 2)
    assert store.counts(graphs) == {g: i if i < 4 else 0 for i, g in enumerate(graphs)}
    assert len(asked) == 3
    assert {g: store.count(g) for g in graphs} == store.counts(reversed(graphs))


def test_load_twice_with_replace_gives_the_same_store(fresh_server, local_counts, capsys):
    assert run("--endpoint", fresh_server.base_url) == 0
    first = snapshot(fresh_server)
    assert run("--endpoint", fresh_server.base_url, "--replace") == 0
    assert snapshot(fresh_server) == first
    assert graph_counts(fresh_server) == local_counts  # no staging graph left behind
    out = capsys.readouterr().out
    n = local_counts[ONTOLOGY]
    assert re.search(rf"^{re.escape(ONTOLOGY)}\s+{n}\s+{n}\s+{n}\s+ok$", out, re.M), out


def test_replace_leaves_other_graphs_alone(fresh_server, local_counts, capsys):
    other = "https://example.org/graph/someone-else"
    RemoteStore(fresh_server.endpoint).update(
        f"INSERT DATA {{ GRAPH <{other}> {{ <https://example.org/s> <https://example.org/p> 1 }} }}"
    )
    assert run("--endpoint", fresh_server.base_url) == 0
    assert graph_counts(fresh_server) == {**local_counts, other: 1}


def test_append_adds_to_what_the_graph_holds(fresh_server, local_counts, capsys):
    assert run("--endpoint", fresh_server.base_url) == 0
    assert run("--endpoint", fresh_server.base_url, "--append") == 0
    out = capsys.readouterr().out
    assert "with --append" in out and "MISMATCH" not in out
    # Named nodes are the same triples again; blank nodes are new nodes each time.
    blank = sum(
        1
        for q in load_store()
        if isinstance(q.subject, ox.BlankNode) or isinstance(q.object, ox.BlankNode)
    )
    counts = graph_counts(fresh_server)
    assert sum(counts.values()) == sum(local_counts.values()) + blank


def test_graph_option_loads_everything_into_one_graph(fresh_server, capsys):
    target = "https://example.org/graph/treatykg-all"
    assert run("--endpoint", fresh_server.base_url, "--graph", target) == 0
    distinct = len({(q.subject, q.predicate, q.object) for q in load_store()})
    assert graph_counts(fresh_server) == {target: distinct}
    assert "Graph Store PUT in" in capsys.readouterr().out  # one PUT, no staging


def test_without_a_graph_store_one_graph_loads_by_sparql_update(fresh_server, capsys):
    target = "https://example.org/graph/everything"
    assert run("--endpoint", fresh_server.base_url, "--graph", target, "--store-url", "none") == 0
    distinct = len({(q.subject, q.predicate, q.object) for q in load_store()})
    assert graph_counts(fresh_server) == {target: distinct}
    assert "by one SPARQL Update in" in capsys.readouterr().out


def test_a_store_url_that_is_not_a_graph_store_falls_back_to_update(fresh_server, capsys):
    base = fresh_server.base_url
    target = "https://example.org/graph/everything"
    assert run("--endpoint", base, "--graph", target, "--store-url", base + "/no-such-path") == 0
    captured = capsys.readouterr()
    distinct = len({(q.subject, q.predicate, q.object) for q in load_store()})
    assert graph_counts(fresh_server) == {target: distinct}
    assert "no Graph Store endpoint at" in captured.err
    assert "by one SPARQL Update in" in captured.out


def test_query_update_and_store_urls_can_be_given_one_by_one(fresh_server, local_counts):
    code = run(
        "--query-url", fresh_server.query_url,
        "--update-url", fresh_server.update_url,
        "--store-url", fresh_server.store_url,
    )  # fmt: skip
    assert code == 0
    assert graph_counts(fresh_server) == local_counts


def test_a_malformed_file_leaves_the_store_unchanged(fresh_server, tmp_path, capsys):
    good = write(tmp_path / "extra.ttl", "<https://example.org/a> <https://example.org/b> 1 .\n")
    assert run("--endpoint", fresh_server.base_url, str(good)) == 0
    before = snapshot(fresh_server)
    bad = write(tmp_path / "broken.ttl", "<https://example.org/a> <https://example.org/b> .\n")
    write(good, "<https://example.org/a> <https://example.org/b> 2 .\n")
    capsys.readouterr()
    assert run("--endpoint", fresh_server.base_url, str(good), str(bad)) == 2
    err = capsys.readouterr().err
    assert re.fullmatch(rf"treatykg: error: {re.escape(str(bad))}:1:\d+: .+\n", err), err
    assert snapshot(fresh_server) == before


def test_progress_is_shown_on_request(fresh_server, tmp_path, capsys):
    lines = (f"<https://example.org/s{i}> <https://example.org/p> {i} .\n" for i in range(30000))
    big = write(tmp_path / "big.ttl", "".join(lines))
    assert run("--endpoint", fresh_server.base_url, "--progress", str(big)) == 0
    err = capsys.readouterr().err
    assert re.search(r"^uploading user/big: .* of [\d.]+ MB \(100%\)$", err, re.M), err
    assert run("--endpoint", fresh_server.base_url, "--no-progress", str(big)) == 0
    assert "uploading" not in capsys.readouterr().err


# --- every stored query through the endpoint ----------------------------------------------------


@pytest.fixture(scope="module")
def loaded():
    """A server of this module's own, loaded once by ``treatykg load`` and left alone."""
    with OxigraphServer() as server:
        assert main(["load", "--endpoint", server.base_url]) == 0
        yield server


@pytest.fixture
def no_proxy(monkeypatch):
    """The queries go to 127.0.0.1 directly, whatever proxy the environment names."""
    for variable in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture(scope="module")
def embedded() -> ox.Store:
    return load_store()


def _rows(answer: querying.Answer) -> Counter:
    def term(t):
        if isinstance(t, ox.BlankNode):
            return "_:"
        if isinstance(t, ox.Literal) and " / " in t.value:
            # A GROUP_CONCAT list (" / "): SPARQL leaves its order open, and Oxigraph's follows
            # the order the triples were stored in; compared as a set, as in test_queries.
            return " / ".join(sorted(t.value.split(" / ")))
        return str(t)

    if answer.form == "ASK":
        return Counter([answer.boolean])
    if answer.form == "SELECT":
        return Counter(tuple(term(t) for t in row) for row in answer.rows)
    return Counter((term(t.subject), str(t.predicate), term(t.object)) for t in answer.triples)


# Tests never touch the internet: a federated query (SERVICE <https://...>) is left out, as
# `treatykg query run-all` leaves it out without --federated.
OFFLINE = [q for q in QUERIES if not querying.is_federated(q.text)]


def test_the_endpoint_comparison_leaves_out_only_federated_queries():
    left_out = [q.name for q in QUERIES if q not in OFFLINE]
    assert all(name.startswith("federated-") for name in left_out), left_out
    assert len(OFFLINE) >= 5


@pytest.mark.parametrize("query", OFFLINE, ids=[q.name for q in OFFLINE])
def test_every_stored_query_gives_the_same_rows_through_the_endpoint(
    query, loaded, embedded, no_proxy
):
    here = querying.run(query, store=embedded)
    there = querying.run(query, endpoint=loaded.query_url)
    assert here.variables == there.variables
    assert _rows(there) == _rows(here)


def _sections(output: str) -> dict[str, Counter]:
    """``query run-all`` output: each query's title line → the multiset of its lines."""
    sections: dict[str, Counter] = {}
    for block in re.split(r"^(?=## )", output, flags=re.M):
        if block.strip():
            title, _, body = block.partition("\n")
            sections[title] = Counter(_cells(line) for line in body.splitlines() if line.strip())
    return sections


def _cells(line: str) -> tuple[str, ...]:
    """A table line's cells (two spaces or more apart), each " / " list sorted: the order of a
    GROUP_CONCAT list is open (see :func:`_rows`)."""
    return tuple(" / ".join(sorted(cell.split(" / "))) for cell in re.split(r"\s{2,}", line))


def test_query_run_all_with_endpoint_prints_what_the_embedded_store_gives(loaded, no_proxy, capsys):
    """The command a user runs: ``treatykg query run-all --endpoint URL`` against the loaded
    server, and without it (the embedded store). Every query's rows are the same; federated
    queries are not run by either (no --federated)."""
    assert main(["query", "run-all"]) == 0
    here = _sections(capsys.readouterr().out)
    assert main(["query", "run-all", "--endpoint", loaded.query_url]) == 0
    there = _sections(capsys.readouterr().out)
    assert len(here) == len(QUERIES)
    assert there.keys() == here.keys()
    for title, lines in here.items():
        assert there[title] == lines, title
    answered = [t for t in here if "not run without --federated" not in str(here[t])]
    assert len(answered) == len(OFFLINE)


# --- serve --------------------------------------------------------------------------------------


CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
"""~3·10¹³ solutions over the project's graph: runs for hours unless stopped."""


def _post(url: str, field: str, text: str, timeout: float = 30) -> tuple[int, bytes]:
    body = urllib.parse.urlencode({field: text}).encode()
    try:
        with _DIRECT.open(urllib.request.Request(url, data=body), timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _gone(pid: int, within: float = 5.0) -> bool:
    """True once no process ``pid`` exists (its parent reaps it within moments)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_serve_is_read_only_stops_runaway_queries_and_stops_on_ctrl_c(local_counts):
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    process = subprocess.Popen(
        [sys.executable, "-m", "treatykg", "serve", "--port", "0", "--timeout", "1"],
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
        assert re.search(
            r"^Oxigraph server at http://127\.0\.0\.1:\d+ \(in a temporary store, pid \d+\): "
            r"read-only \(updates and Graph Store writes are refused\); queries stop after 1 s$",
            out,
            re.M,
        ), out
        urls = dict(
            re.findall(r"^  (query|update|store):\s+(http://127\.0\.0\.1:\d+/\w+)$", out, re.M)
        )
        assert set(urls) == {"query", "store"}, out  # no update URL: there is none to use
        pid = int(re.search(r"pid (\d+)", out).group(1))
        served = RemoteStore(resolve_endpoint(query_url=urls["query"], update_url=urls["query"]))
        for graph, n in local_counts.items():
            assert served.count(graph) == n
        assert served.graphs_under(STAGING) == []
        # The union of the graphs is the default graph, as the stored queries expect.
        assert served.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")[0]["n"] != "0"
        # The site at / on the same port, its entity IRIs negotiated (tests/test_site.py has more).
        site = re.search(r"^  site:\s+(http://127\.0\.0\.1:\d+/)$", out, re.M).group(1)
        assert site == urls["query"].removesuffix("query")
        with urllib.request.urlopen(site, timeout=10) as home:
            assert home.headers["Content-Type"].startswith("text/html")
        zhou = urllib.request.Request(
            site + "id/person/zhou-enlai", headers={"Accept": "text/turtle"}
        )
        with urllib.request.urlopen(zhou, timeout=10) as answer:
            assert answer.headers["Content-Type"].startswith("text/turtle")

        # Read-only: an update and a Graph Store write are refused, and change nothing.
        update = urls["query"].replace("/query", "/update")
        assert _post(update, "update", "DROP ALL")[0] == 403
        put = urllib.request.Request(
            urls["store"] + "?graph=" + urllib.parse.quote(ONTOLOGY, safe=""),
            data=b"<https://example.org/s> <https://example.org/p> <https://example.org/o> .",
            method="PUT",
            headers={"Content-Type": "text/turtle"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            _DIRECT.open(put, timeout=30)
        assert refused.value.code == 403
        assert served.count(ONTOLOGY) == local_counts[ONTOLOGY]

        # A runaway query (one Oxigraph's own timeout does not stop) is stopped after the
        # timeout and a grace second or so; the process that ran it no longer runs it.
        started = time.monotonic()
        status, body = _post(urls["query"], "query", CARTESIAN, timeout=60)
        took = time.monotonic() - started
        assert 1 <= took < 10, took
        assert (status, body) == (503, b"query stopped: it ran past the server's 1 s timeout\n")
        assert _gone(pid)  # the server was restarted, and it has a new pid
        started = time.monotonic()
        assert served.ask("ASK { ?s ?p ?o }")  # and it still answers at once, with the graph
        assert time.monotonic() - started < 2
        assert served.count(ONTOLOGY) == local_counts[ONTOLOGY]

        process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert process.wait(timeout=15) == 0
        err = process.stderr.read()
        assert "a query ran past 1 s and Oxigraph did not stop it: restarted the server" in err
        assert err.rstrip().endswith("stopped")
        new_pid = int(re.search(r"\(pid (\d+)\)", err).group(1))
        assert _gone(new_pid)  # the server it started is gone
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serve_killed_outright_leaves_no_server_running_and_the_next_command_tidies(tmp_path):
    """`kill -9` of `treatykg serve`: its Oxigraph server goes with it, and the next command
    removes the temporary store it left."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["TMPDIR"] = str(scratch)
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>t</title>", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "treatykg", "serve", "--port", "0", "--site", str(site)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        out = ""
        deadline = time.monotonic() + 60
        while "Press Ctrl-C" not in out:
            line = process.stdout.readline()
            assert line and time.monotonic() < deadline, out + process.stderr.read()
            out += line
        pid = int(re.search(r"pid (\d+)", out).group(1))
        assert any(p.name.startswith(f"treatykg-serve-{process.pid}-") for p in scratch.iterdir())
        process.kill()
        process.wait(timeout=10)
        gone = _gone(pid)
        if not gone:  # stop the orphan this test made (by its pid), then fail
            os.kill(pid, signal.SIGKILL)
        assert gone, "the server outlived treatykg"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    result = subprocess.run(
        [sys.executable, "-m", "treatykg", "query", "list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "temporary file(s) left by a treatykg process that was killed" in result.stderr
    assert list(scratch.iterdir()) == []


def test_serve_refuses_a_port_in_use(oxigraph_server, capsys):
    port = str(oxigraph_server.port)
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
        assert report.protocol == "one SPARQL Update" and report.ok
        assert graph_counts(running) == {**local_counts, "https://example.org/g": 1}
    finally:
        running.stop()
    # Read-only: reloaded by a private writable server first, then served read-only.
    running, report = serve_graph(project_files(), location=location, read_only=True)
    try:
        assert report.protocol == "one SPARQL Update" and report.ok
        assert graph_counts(running) == {**local_counts, "https://example.org/g": 1}
        with pytest.raises(RemoteStoreError, match="HTTP 403"):
            RemoteStore(running.endpoint, HttpClient(retries=0)).update("DROP ALL")
        assert graph_counts(running) == {**local_counts, "https://example.org/g": 1}
    finally:
        running.stop()


def test_a_temporary_store_is_removed_when_the_server_stops(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    running, report = serve_graph(project_files(), read_only=True)
    try:
        assert report.ok
        assert running.location is not None and running.location.parent == tmp_path
        assert (running.location / "CURRENT").is_file()
    finally:
        running.stop()
    assert list(tmp_path.iterdir()) == []


def test_what_a_killed_treatykg_left_behind_is_removed_by_the_next_command(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()  # a pid that no longer runs, as a killed treatykg's
    (tmp_path / f"treatykg-serve-{ended.pid}-abc").mkdir()
    (tmp_path / f"treatykg-serve-{ended.pid}-abc" / "CURRENT").write_text("x")
    (tmp_path / f"treatykg-oxigraph-{ended.pid}-def.log").write_text("log")
    alive = tmp_path / f"treatykg-serve-{os.getpid()}-ghi"  # this process runs: kept
    alive.mkdir()
    other = tmp_path / "someone-elses-file"  # not ours: kept
    other.write_text("x")
    assert main(["query", "list"]) == 0
    err = capsys.readouterr().err
    assert err == (
        "treatykg: removed 2 temporary file(s) left by a treatykg process that was killed\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, other.name])


def test_serve_refuses_a_folder_that_holds_other_files(tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("my notes", encoding="utf-8")
    assert main(["serve", "--port", "0", "--location", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"treatykg: error: {folder}: holds files that are not an Oxigraph store (such as "
        "'notes.txt'); give a new or empty folder, or one that holds a store\n"
    )
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "my notes"


def _can_mount() -> bool:
    if not shutil.which("unshare") or not Path("/proc/self/ns/mnt").exists():
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount -t tmpfs -o ro tmpfs /mnt"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount(), reason="needs a private mount namespace (root, unshare)")
@pytest.mark.parametrize(
    ("setup", "folder"),
    [
        ("mount -t tmpfs -o ro tmpfs $M", "$M/new"),  # a folder to be made on a read-only fs
        (  # an existing empty folder there
            "mount -t tmpfs tmpfs $M && mkdir $M/empty && mount -o remount,ro $M",
            "$M/empty",
        ),
    ],
)
def test_serve_on_a_read_only_file_system_says_so_in_one_line(tmp_path, setup, folder):
    mount_point = tmp_path / "ro"
    mount_point.mkdir()
    script = (
        f"{setup} && exec {shlex.quote(sys.executable)} -m treatykg serve --port 0 "
        f"--location {folder}"
    )
    result = subprocess.run(
        ["unshare", "-m", "sh", "-c", script],
        env={**os.environ, "M": str(mount_point)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    where = folder.replace("$M", str(mount_point))
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"treatykg: error: {where}: cannot write a store there (read-only file system)\n"
    )


# --- the README's commands for other stores -----------------------------------------------------

README = Path(__file__).resolve().parents[1] / "README.md"


def _store_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Loading into a triplestore")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _commands(section: str) -> list[list[str]]:
    """Every shell command of the section's ``sh`` blocks, continuation lines joined, split as
    the shell would (a here-document's lines are left out)."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        block = re.sub(r"<<'TTL'\n.*?\nTTL\n", "\n", block, flags=re.S)
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("#", 1)[0].strip().rstrip("&").strip()
            if line:
                commands.append(shlex.split(line))
    return commands


def _pick(commands: list[list[str]], *words: str, near: str) -> list[list[str]]:
    """The commands that start with ``words`` and name a URL containing ``near``."""
    return [c for c in commands if c[: len(words)] == list(words) and near in " ".join(c)]


def _load_endpoint(argv: list[str]):
    """The store URLs that `treatykg load ARGS` would use: the command's own parser and
    resolver."""
    args = build_parser().parse_args(argv[1:])
    return resolve_endpoint(
        args.endpoint,
        query_url=args.query_url,
        update_url=args.update_url,
        store_url=args.store_url,
    )


def _query_endpoints(commands: list[list[str]], near: str) -> list[str]:
    """The --endpoint of each `treatykg query run-all` command naming ``near``."""
    picked = _pick(commands, "treatykg", "query", "run-all", near=near)
    return [build_parser().parse_args(c[1:]).endpoint for c in picked]


def test_readme_store_commands_are_complete_and_consistent():
    """Fuseki and GraphDB are not run here: their commands were written from the stores'
    documentation. This checks what can be checked without them: the Fuseki configuration is
    valid Turtle whose endpoints are the URLs the commands use, GraphDB's URLs follow the RDF4J
    REST API, and `treatykg` accepts every command as written."""
    section = _store_section()
    commands = _commands(section)

    # Fuseki: the here-document is Turtle; the service and endpoint names make the URLs.
    config = re.search(r"cat > (\S+) <<'TTL'\n(.*?)\nTTL\n", section, re.S)
    assert config, "the Fuseki configuration is missing"
    fuseki = ox.Store()
    fuseki.load(config[2].encode(), format=ox.RdfFormat.TURTLE, base_iri="file:///config.ttl")
    service = next(
        iter(
            fuseki.query(
                "PREFIX fuseki: <http://jena.apache.org/fuseki#> "
                "SELECT ?name WHERE { ?s a fuseki:Service ; fuseki:name ?name ; fuseki:dataset ?d }"
            )
        )
    )["name"].value
    names = {
        row["op"].value.rsplit("#", 1)[1]: row["name"].value
        for row in fuseki.query(
            "PREFIX fuseki: <http://jena.apache.org/fuseki#> SELECT ?op ?name WHERE { "
            "?s fuseki:endpoint [ fuseki:operation ?op ; fuseki:name ?name ] }"
        )
    }
    assert set(names) == {"query", "update", "gsp-rw"}
    union = "ASK { ?d <http://jena.apache.org/2016/tdb#unionDefaultGraph> true }"
    assert bool(fuseki.query(union))  # the stored queries need the union as the default graph
    assert ["fuseki-server", f"--config={config[1]}"] in commands
    base = f"http://localhost:3030/{service}"
    [fuseki_load] = _pick(commands, "treatykg", "load", near=base)
    endpoint = _load_endpoint(fuseki_load)
    assert endpoint.query_url == f"{base}/{names['query']}"
    assert endpoint.update_url == f"{base}/{names['update']}"
    assert endpoint.store_url == f"{base}/{names['gsp-rw']}"
    assert _query_endpoints(commands, base) == [endpoint.query_url]

    # GraphDB: RDF4J's URLs for a repository.
    [graphdb_load] = _pick(commands, "treatykg", "load", near=":7200/")
    endpoint = _load_endpoint(graphdb_load)
    repository = re.fullmatch(r"http://localhost:7200/repositories/([\w-]+)", endpoint.query_url)
    assert repository, endpoint.query_url
    assert endpoint.update_url == endpoint.query_url + "/statements"
    assert endpoint.store_url == endpoint.query_url + "/rdf-graphs/service"
    assert f"repository `{repository[1]}`" in section
    assert _query_endpoints(commands, ":7200/") == [endpoint.query_url]

    # Oxigraph (what the tests do run): the base URL alone is enough.
    assert ["treatykg", "load", "--endpoint", "http://127.0.0.1:7878"] in commands
