"""``treatykg load`` when things go wrong: a server killed mid-load, unreachable or slow or busy
endpoints, credentials. Real Oxigraph servers, no mocks.

Where a store needs credentials or misbehaves on purpose, a small HTTP front (:class:`Front`)
stands before the real server, as the reverse proxy (nginx, Apache) that guards most stores
does; everything it lets through is answered by Oxigraph.
"""

from __future__ import annotations

import base64
import http.client
import http.server
import io
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from treatykg import remote_store
from treatykg.cli import main
from treatykg.loading import count_triples, graph_name_for, load_store, project_files
from treatykg.remote_store import (
    STAGING,
    HttpClient,
    LoadInterrupted,
    Progress,
    RemoteStore,
    RemoteStoreError,
    load,
)
from treatykg.server import OxigraphServer, free_port

pytestmark = pytest.mark.server

USER, SECRET, TOKEN = "alice", "s3cret-Pa55", "tok-0123456789"


@pytest.fixture(autouse=True)
def no_real_credentials(tmp_path, monkeypatch):
    """Keep the user's own ~/.netrc and TREATYKG_* variables out of the tests."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("NETRC", "TREATYKG_USER", "TREATYKG_PASSWORD", "TREATYKG_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return home


# --- helpers ------------------------------------------------------------------------------------


def synthetic(path: Path, n: int, *, offset: int = 0) -> Path:
    """Write ``n`` distinct triples (N-Triples, which is Turtle) and return the path."""
    with path.open("w", encoding="utf-8") as out:
        for i in range(offset, offset + n):
            out.write(
                f"<https://example.org/id/thing-{i}> <https://example.org/p/label> "
                f'"thing number {i}, a label long enough to make the file weigh something"@en .\n'
            )
    return path


def counts(server: OxigraphServer) -> dict[str, int]:
    rows = RemoteStore(server.endpoint, HttpClient(retries=0)).select(
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    )
    return {row["g"]: int(row["n"]) for row in rows}


def targets(server: OxigraphServer) -> dict[str, int]:
    """Counts of the graphs a load writes to, staging graphs left out."""
    return {g: n for g, n in counts(server).items() if not g.startswith(STAGING)}


class KillAt(Progress):
    """A progress display that kills the server once ``fraction`` of the upload ``label`` left."""

    def __init__(self, server: OxigraphServer, label: str, fraction: float) -> None:
        super().__init__(io.StringIO(), enabled=True)
        self.server, self.label, self.fraction = server, label, fraction
        self.killed_at: int | None = None

    def update(self, done: int) -> None:
        super().update(done)
        if (
            self.killed_at is None
            and self._label == self.label
            and self.fraction * self._total <= done < self._total
        ):
            self.server.kill()
            self.killed_at = done


class Front:
    """An HTTP front on 127.0.0.1 before ``upstream``: it may ask for credentials, may answer
    some requests itself (``answer(method, path) -> (status, headers, body) | None``), may read
    request bodies slowly (``read_pause`` seconds per 64 kB, as a store busy writing does) and may
    hold back the upstream's answer (``reply_pause(method, path) -> seconds``)."""

    def __init__(
        self,
        upstream: str,
        *,
        authorization: str | None = None,
        answer: Callable[[str, str], tuple[int, dict[str, str], bytes] | None] | None = None,
        read_pause: float = 0.0,
        reply_pause: Callable[[str, str], float] | None = None,
    ) -> None:
        self.upstream = upstream
        self.authorization = authorization
        self.answer = answer
        self.seen: list[str] = []
        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output clean
                pass

            def _body(self) -> bytes | None:
                """The request body, or None if the client went away before sending it all."""
                length = int(self.headers.get("Content-Length") or 0)
                parts = []
                while length > 0 and (part := self.rfile.read(min(length, 65536))):
                    parts.append(part)
                    length -= len(part)
                    time.sleep(read_pause)
                return None if length > 0 else b"".join(parts)

            def _handle(self):
                body = self._body()
                if body is None:
                    return None  # as a store does: a body cut short is never acted on
                front.seen.append(f"{self.command} {self.path}")
                if front.authorization and self.headers.get("Authorization") != front.authorization:
                    return self._reply(401, {"WWW-Authenticate": 'Basic realm="store"'}, b"no")
                own = front.answer(self.command, self.path) if front.answer else None
                if own is not None:
                    return self._reply(*own)
                host = front.upstream.split("//", 1)[1]
                connection = http.client.HTTPConnection(host, timeout=60)
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "authorization")
                }
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
                kept = {
                    k: v
                    for k, v in response.getheaders()
                    if k.lower() not in ("content-length", "transfer-encoding", "connection")
                }
                connection.close()
                if reply_pause is not None:
                    time.sleep(reply_pause(self.command, self.path))
                return self._reply(response.status, kept, data)

            def _reply(self, status, headers, body):
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting: what the test is about

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # Leaving the `with` block waits for the requests in flight, so that none reaches the
        # store after the test (or during the next one).
        self.httpd.daemon_threads = False
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Front:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# --- a server killed in the middle of a load ----------------------------------------------------

BIG = "https://w3id.org/treatykg/graph/user/big"
NEW = 10_000  # ~1.5 MB: six 256 kB chunks, so a kill at half the upload lands mid-request


def _old_and_new(tmp_path: Path) -> tuple[list, list, dict[str, int], dict[str, int]]:
    """The project with a 100-triple user/big graph (old), and with a NEW-triple one (new)."""
    (tmp_path / "old").mkdir()
    old_big = synthetic(tmp_path / "old" / "big.ttl", 100)
    new_big = synthetic(tmp_path / "big.ttl", NEW, offset=1_000_000)
    old = [*project_files(), (old_big, BIG)]
    new = [*project_files(), (new_big, BIG)]
    old_counts = {**count_triples(project_files()), BIG: 100}
    new_counts = {**count_triples(project_files()), BIG: NEW}
    return old, new, old_counts, new_counts


def test_a_server_killed_during_an_upload_keeps_the_old_graphs(tmp_path):
    old, new, old_counts, new_counts = _old_and_new(tmp_path)
    location = tmp_path / "store"
    with OxigraphServer(location=location) as first:
        load(first.endpoint, old)
        assert targets(first) == old_counts
        label = f"uploading {len(new_counts)} graphs"
        killer = KillAt(first, label, 0.5)
        with pytest.raises(RemoteStoreError) as failure:
            load(first.endpoint, new, client=HttpClient(retries=1, backoff=0.05, progress=killer))
    assert killer.killed_at is not None
    message = str(failure.value)
    assert f"while {label}" in message and message.endswith("the store was not changed")
    with OxigraphServer(location=location) as second:
        assert targets(second) == old_counts
        report = load(second.endpoint, new)
        assert report.ok
        assert counts(second) == new_counts  # and no staging graph is left
    with OxigraphServer(location=location) as third:  # what was committed stays committed
        assert counts(third) == new_counts


def test_a_server_killed_before_the_update_keeps_the_old_graphs(tmp_path):
    old, new, old_counts, new_counts = _old_and_new(tmp_path)
    location = tmp_path / "store"
    with OxigraphServer(location=location) as first:
        load(first.endpoint, old)
        with pytest.raises(RemoteStoreError) as failure:
            load(first.endpoint, new, client=HttpClient(retries=0), before_update=first.kill)
    assert "connection refused" in str(failure.value)
    assert str(failure.value).endswith("the store was not changed")
    with OxigraphServer(location=location) as second:
        assert counts(second) == old_counts  # nothing staged, nothing half-loaded
        report = load(second.endpoint, new)
        assert report.ok and report.notes == []
        assert counts(second) == new_counts


def test_staging_graphs_left_by_an_earlier_version_are_dropped_by_the_next_load(
    fresh_server, local_counts
):
    left = STAGING + "20250101T000000Z-abcdef/ontology"
    RemoteStore(fresh_server.endpoint).update(
        f"INSERT DATA {{ GRAPH <{left}> {{ <https://example.org/s> <https://example.org/p> 1 }} }}"
    )
    report = load(fresh_server.endpoint, project_files())
    assert report.ok
    assert report.notes == ["removed 1 staging graph(s) left by an interrupted load"]
    assert counts(fresh_server) == local_counts


def test_a_single_graph_put_killed_midway_keeps_the_old_graph(tmp_path):
    location = tmp_path / "store"
    old = synthetic(tmp_path / "old.ttl", 100)
    new = synthetic(tmp_path / "new.ttl", NEW, offset=500)
    graph = "https://example.org/graph/one"
    with OxigraphServer(location=location) as first:
        load(first.endpoint, [(old, graph)], into=graph)
        killer = KillAt(first, "uploading https://example.org/graph/one", 0.5)
        with pytest.raises(RemoteStoreError) as failure:
            load(
                first.endpoint,
                [(new, graph)],
                into=graph,
                client=HttpClient(retries=0, progress=killer),
            )
    assert killer.killed_at is not None
    assert "is as it was" in str(failure.value)
    with OxigraphServer(location=location) as second:
        assert counts(second) == {graph: 100}
        assert load(second.endpoint, [(new, graph)], into=graph).ok
        assert counts(second) == {graph: NEW}


def test_the_command_killed_at_any_moment_leaves_old_or_new_then_loads(tmp_path):
    """The real command in its own process; the server is killed when its progress shows 30%.

    Whether the kill lands before the server commits is up to timing: either outcome is fine,
    a mix is not.
    """
    location = tmp_path / "store"
    big_old = synthetic(tmp_path / "old.ttl", 100)
    big_new = synthetic(tmp_path / "new.ttl", 3 * NEW, offset=1_000_000)
    with OxigraphServer(location=location) as first:
        assert main(["load", "--endpoint", first.base_url, "--graph", BIG, str(big_old)]) == 0
        command = [
            sys.executable, "-m", "treatykg", "load", "--endpoint", first.base_url,
            "--graph", BIG, "--progress", "--retries", "0", str(big_new),
        ]  # fmt: skip
        process = subprocess.Popen(
            command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        seen = []
        for line in process.stderr:
            seen.append(line)
            shown = re.search(r"\((\d+)%\)$", line.strip())
            if shown and int(shown[1]) >= 30:
                first.kill()
                break
        err = "".join(seen) + process.stderr.read()
        code = process.wait(timeout=60)
    assert code in (0, 2), err
    assert "Traceback" not in err
    if code == 2:
        assert len([ln for ln in err.splitlines() if ln.startswith("treatykg: error:")]) == 1, err
    with OxigraphServer(location=location) as second:
        assert counts(second) in ({BIG: 100}, {BIG: 3 * NEW})
        assert main(["load", "--endpoint", second.base_url, "--graph", BIG, str(big_new)]) == 0
        assert counts(second) == {BIG: 3 * NEW}


# --- interrupted and timed-out loads -------------------------------------------------------------


def _two_graphs(tmp_path: Path, big: int, *, offset: int = 0) -> list[Path]:
    """Two user files, a.ttl (10 triples) and big.ttl (``big`` triples): two graphs, so the
    load is one SPARQL update rather than one Graph Store PUT."""
    return [
        synthetic(tmp_path / "a.ttl", 10, offset=offset),
        synthetic(tmp_path / "big.ttl", big, offset=offset + 1_000_000),
    ]


def test_ctrl_c_before_the_update_keeps_the_old_graphs(fresh_server, tmp_path):
    old = _two_graphs(tmp_path, 100)
    assert main(["load", "--endpoint", fresh_server.base_url, *map(str, old)]) == 0
    before = counts(fresh_server)
    new = _two_graphs(tmp_path, 500, offset=5000)

    def ctrl_c() -> None:
        raise KeyboardInterrupt

    sources = [(path, graph_name_for(path)) for path in new]
    with pytest.raises(LoadInterrupted) as stopped:
        load(fresh_server.endpoint, sources, before_update=ctrl_c)
    assert str(stopped.value) == "interrupted before the update; the store was not changed"
    assert stopped.value.exit_code == 130
    assert counts(fresh_server) == before


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
def test_the_command_interrupted_mid_upload_says_so_and_keeps_the_old_graphs(
    fresh_server, tmp_path, signal_number
):
    """Ctrl-C (SIGINT) or `kill` (SIGTERM) while the command uploads through a store that
    reads slowly: exit 130, one line saying what the store holds: the old graphs, or the new
    ones if the whole update was already on its way (the socket's buffers hold megabytes), never
    a mix; the next load puts the new ones in place."""
    old = _two_graphs(tmp_path, 100)
    assert main(["load", "--endpoint", fresh_server.base_url, *map(str, old)]) == 0
    before = counts(fresh_server)
    new = _two_graphs(tmp_path, NEW, offset=5000)
    command = [
        sys.executable, "-m", "treatykg", "load", "--progress", "--retries", "0", *map(str, new),
    ]  # fmt: skip
    with Front(fresh_server.base_url, read_pause=0.05) as front:
        process = subprocess.Popen(
            [*command, "--endpoint", front.base_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        seen = []
        for line in process.stderr:
            seen.append(line)
            shown = re.search(r"^uploading 2 graphs: .*\((\d+)%\)$", line.strip())
            if shown and int(shown[1]) >= 30:
                process.send_signal(signal_number)
                break
        err = "".join(seen) + process.stderr.read()
        code = process.wait(timeout=60)
    assert code == 130, err
    assert "Traceback" not in err
    errors = [ln for ln in err.splitlines() if ln.startswith("treatykg: error:")]
    assert errors == [
        "treatykg: error: interrupted while uploading 2 graphs: the store holds either the old "
        "graphs or, if it received the whole update, the new ones, never a mix; load again"
    ], err
    assert counts(fresh_server) in (
        before,
        {graph_name_for(new[0]): 10, graph_name_for(new[1]): NEW},
    )
    assert main(["load", "--endpoint", fresh_server.base_url, *map(str, new)]) == 0
    assert counts(fresh_server) == {graph_name_for(new[0]): 10, graph_name_for(new[1]): NEW}


def test_a_load_killed_outright_leaves_old_or_new_and_its_files_are_removed_next_time(
    fresh_server, tmp_path, monkeypatch, capsys
):
    """`kill -9` (SIGKILL: no clean-up code runs) while the command uploads: the store holds
    the old graphs or the new ones, and nothing staged; the command's temporary files stay
    until the next treatykg command, which removes them and says so."""
    old = _two_graphs(tmp_path, 100)
    assert main(["load", "--endpoint", fresh_server.base_url, *map(str, old)]) == 0
    before = counts(fresh_server)
    new = _two_graphs(tmp_path, 3 * NEW, offset=5000)
    after = {graph_name_for(new[0]): 10, graph_name_for(new[1]): 3 * NEW}
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    command = [
        sys.executable, "-m", "treatykg", "load", "--progress", "--retries", "0", *map(str, new),
    ]  # fmt: skip
    with Front(fresh_server.base_url, read_pause=0.05) as front:
        process = subprocess.Popen(
            [*command, "--endpoint", front.base_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "TMPDIR": str(scratch)},
        )
        for line in process.stderr:
            shown = re.search(r"^uploading 2 graphs: .*\((\d+)%\)$", line.strip())
            if shown and int(shown[1]) >= 30:
                process.kill()
                break
        assert process.wait(timeout=60) == -signal.SIGKILL
    assert counts(fresh_server) in (before, after)
    left = [p.name for p in scratch.iterdir()]
    assert left and all(name.startswith(f"treatykg-load-{process.pid}-") for name in left)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    capsys.readouterr()
    assert main(["load", "--endpoint", fresh_server.base_url, *map(str, new)]) == 0
    assert capsys.readouterr().err == (
        f"treatykg: removed {len(left)} temporary file(s) left by a treatykg process that was "
        "killed\n"
    )
    assert list(scratch.iterdir()) == []
    assert counts(fresh_server) == after


def test_a_store_that_stops_answering_mid_load_times_out_and_keeps_the_old_graphs(
    fresh_server, tmp_path, capsys
):
    old = _two_graphs(tmp_path, 20)
    assert main(["load", "--endpoint", fresh_server.base_url, *map(str, old)]) == 0
    before = counts(fresh_server)
    new = _two_graphs(tmp_path, 40, offset=5000)

    def stalls_on_uploads(method, path):
        if path.startswith("/update"):
            time.sleep(1.0)
            return 504, {}, b"too late"
        return None

    with Front(fresh_server.base_url, answer=stalls_on_uploads) as front:
        code = main(
            ["load", "--endpoint", front.base_url, "--timeout", "0.3", "--retries", "0"]
            + [str(path) for path in new]
        )
    assert code == 2
    assert capsys.readouterr().err == (
        f"treatykg: error: no answer from {front.base_url}/update within 0.3 s while uploading 2 "
        "graphs: the store holds either the old graphs or, if it received the whole update, the "
        "new ones, never a mix; load again (a large update may still be running: give it time, "
        "or a larger --timeout)\n"
    )
    assert counts(fresh_server) == before  # the front never passed it on


def test_a_put_whose_answer_is_lost_says_the_graph_holds_old_or_new(fresh_server, tmp_path, capsys):
    """A single-graph PUT sent in full whose answer never comes: the store may have stored it
    or not. The message says so (never a mix), and loading again settles it."""
    graph = "https://example.org/graph/one"
    old = synthetic(tmp_path / "old.ttl", 10)
    new = synthetic(tmp_path / "new.ttl", 20, offset=100)
    assert main(["load", "--endpoint", fresh_server.base_url, "--graph", graph, str(old)]) == 0

    def late_for_puts(method, path):
        return 1.0 if method == "PUT" else 0.0

    with Front(fresh_server.base_url, reply_pause=late_for_puts) as front:
        argv = ["--endpoint", front.base_url, "--graph", graph, str(new), "--timeout", "0.3"]
        code = main(["load", *argv, "--retries", "0"])
    assert code == 2
    assert capsys.readouterr().err == (
        f"treatykg: error: no answer from {front.base_url}/store within 0.3 s while uploading "
        f"{graph}; {graph} holds its old triples or, if the store received the whole upload, "
        "the new ones, never a mix (a PUT is all or nothing); load again\n"
    )
    assert counts(fresh_server) in ({graph: 10}, {graph: 20})
    assert main(["load", "--endpoint", fresh_server.base_url, "--graph", graph, str(new)]) == 0
    assert counts(fresh_server) == {graph: 20}


def test_a_load_is_one_update_and_queries_meanwhile_see_old_or_new_never_staging(
    fresh_server, tmp_path
):
    """Nothing is staged in the store: a client querying the store all through a slow load
    (the front reads the upload slowly) sees the old graphs, then the new ones, and nothing else
    — no staging graph, no half-loaded graph. The blank nodes arrive as nodes of their own."""
    old = _two_graphs(tmp_path, 100)
    assert main(["load", "--endpoint", fresh_server.base_url, *map(str, old)]) == 0
    before = counts(fresh_server)
    new = _two_graphs(tmp_path, NEW, offset=5000)
    after = {graph_name_for(new[0]): 10, graph_name_for(new[1]): NEW}
    seen: list[dict[str, int]] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.append(counts(fresh_server))

    watcher = threading.Thread(target=watch)
    with Front(fresh_server.base_url, read_pause=0.01) as front:
        watcher.start()
        try:
            assert main(["load", "--endpoint", front.base_url, *map(str, new)]) == 0
        finally:
            done.set()
            watcher.join()
    assert len(seen) > 10
    assert before in seen and after in seen
    assert all(view in (before, after) for view in seen), [
        v for v in seen if v not in (before, after)
    ][:3]
    changes = [r for r in front.seen if not r.startswith("POST /query")]
    assert changes == ["POST /update"]  # one request changes the store


def test_blank_nodes_arrive_as_nodes_of_their_own(fresh_server, local_counts):
    assert main(["load", "--endpoint", fresh_server.base_url]) == 0
    assert counts(fresh_server) == local_counts
    blank = (
        "SELECT (COUNT(DISTINCT ?b) AS ?n) WHERE { GRAPH ?g { { ?b ?p ?o } UNION { ?s ?p ?b } } "
        "FILTER(isBlank(?b)) }"
    )
    local = int(next(iter(load_store().query(blank)))["n"].value)
    assert local > 0
    assert int(RemoteStore(fresh_server.endpoint).select(blank)[0]["n"]) == local


# --- endpoints that cannot be reached, are slow, busy or broken ---------------------------------


def test_an_unreachable_endpoint_gives_one_clear_line(capsys):
    port = free_port()
    assert main(["load", "--endpoint", f"http://127.0.0.1:{port}", "--retries", "0"]) == 2
    err = capsys.readouterr().err
    assert (
        err == f"treatykg: error: cannot reach http://127.0.0.1:{port}/query: connection refused"
        "; the store was not changed\n"
    )


def test_retries_back_off_and_then_give_up(capsys):
    port = free_port()
    started = time.monotonic()
    code = main(
        ["load", "--endpoint", f"http://127.0.0.1:{port}", "--retries", "2", "--backoff", "0.2"]
    )
    elapsed = time.monotonic() - started
    assert code == 2
    assert capsys.readouterr().err.endswith(
        "connection refused (after 3 attempts); the store was not changed\n"
    )
    assert elapsed >= 0.2 + 0.4  # 0.2 s, then 0.4 s


def test_a_silent_endpoint_times_out(capsys):
    with socket.socket() as listener:  # accepts connections, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        started = time.monotonic()
        code = main(
            ["load", "--endpoint", f"http://127.0.0.1:{port}", "--timeout", "0.3", "--retries", "0"]
        )
        assert time.monotonic() - started < 5
    assert code == 2
    assert capsys.readouterr().err == (
        f"treatykg: error: no answer from http://127.0.0.1:{port}/query within 0.3 s"
        "; the store was not changed\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--endpoint", "localhost:7878"], "bad endpoint URL 'localhost:7878'"),
        (["--endpoint", "ftp://example.org/"], "bad endpoint URL 'ftp://example.org/'"),
        (
            ["--endpoint", "http://127.0.0.1:99999"],
            "bad endpoint URL 'http://127.0.0.1:99999': bad port",
        ),
        # A traceback before (found by tests/test_properties.py).
        (
            ["--endpoint", "http://127.0.0.1:7878["],
            "bad endpoint URL 'http://127.0.0.1:7878[': bad host",
        ),
        (["--endpoint", "http://u:p@[::1/"], "bad endpoint URL 'http://***@[::1/': bad host"),
        (["--query-url", "http://127.0.0.1:1/q"], "give --endpoint URL"),
        (
            ["--endpoint", "http://127.0.0.1:1", "--graph", "not an IRI"],
            "bad graph IRI 'not an IRI'",
        ),
        (["--endpoint", "http://127.0.0.1:1", "--graph", "urn:x y"], "bad graph IRI 'urn:x y'"),
        (
            ["--endpoint", "http://127.0.0.1:1", "--graph", STAGING + "x"],
            f"bad graph IRI '{STAGING}x': {STAGING}... is reserved for staging",
        ),
        *(
            (
                ["--endpoint", "http://127.0.0.1:1", "--timeout", value],
                f"--timeout must be a positive number of seconds, not {float(value)}",
            )
            for value in ("0", "-1", "nan", "inf")
        ),
        *(
            (
                ["--endpoint", "http://127.0.0.1:1", "--backoff", value],
                f"--backoff must be 0 or more seconds, not {float(value)}",
            )
            for value in ("-0.5", "nan")
        ),
        (
            ["--endpoint", "http://127.0.0.1:1", "--retries", "-1"],
            "--retries must be 0 or more, not -1",
        ),
        (
            ["--endpoint", "http://127.0.0.1:1", "no-such-file.ttl"],
            "no-such-file.ttl: no such file",
        ),
    ],
)
def test_bad_arguments_give_one_clear_line(argv, message, capsys):
    assert main(["load", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"treatykg: error: {message}"), err
    assert err.count("\n") == 1


def test_a_busy_store_is_retried_after_the_time_it_asks(fresh_server, local_counts, capsys):
    answered = []

    def busy_once(method, path):
        if not answered:
            answered.append(path)
            return 503, {"Retry-After": "1"}, b"busy: try again"
        return None

    with Front(fresh_server.base_url, answer=busy_once) as front:
        started = time.monotonic()
        assert main(["load", "--endpoint", front.base_url, "--backoff", "0.01"]) == 0
        assert time.monotonic() - started >= 1.0
    assert targets(fresh_server) == local_counts


def test_a_store_that_stays_busy_is_reported_with_its_own_words(fresh_server, capsys):
    def always_busy(method, path):
        return 503, {}, b"busy: too many loads\nsecond line"

    with Front(fresh_server.base_url, answer=always_busy) as front:
        code = main(["load", "--endpoint", front.base_url, "--retries", "2", "--backoff", "0.01"])
    assert code == 2
    assert capsys.readouterr().err == (
        f"treatykg: error: HTTP 503 from {front.base_url}/query: busy: too many loads "
        "(after 3 attempts); the store was not changed\n"
    )


def test_a_redirect_is_reported_not_followed(fresh_server, capsys):
    def moved(method, path):
        return 301, {"Location": "https://store.example.org" + path}, b""

    with Front(fresh_server.base_url, answer=moved) as front:
        assert main(["load", "--endpoint", front.base_url]) == 2
    assert capsys.readouterr().err == (
        f"treatykg: error: HTTP 301 from {front.base_url}/query: moved to "
        "https://store.example.org/query; use that URL; the store was not changed\n"
    )


def test_a_failing_update_leaves_the_graphs_as_they_were(fresh_server, local_counts, capsys):
    assert main(["load", "--endpoint", fresh_server.base_url]) == 0
    before = counts(fresh_server)

    def broken_updates(method, path):
        if path.startswith("/update"):
            return 500, {}, b"boom: disk full\nstack trace..."
        return None

    with Front(fresh_server.base_url, answer=broken_updates) as front:
        assert main(["load", "--endpoint", front.base_url]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"treatykg: error: HTTP 500 from {front.base_url}/update while uploading "
        f"{len(local_counts)} graphs: boom: disk full; the store was not changed\n"
    )
    assert counts(fresh_server) == before


# --- credentials --------------------------------------------------------------------------------


def test_credentials_from_the_environment_are_sent(fresh_server, local_counts, monkeypatch, capsys):
    monkeypatch.setenv("TREATYKG_USER", USER)
    monkeypatch.setenv("TREATYKG_PASSWORD", SECRET)
    with Front(fresh_server.base_url, authorization=basic(USER, SECRET)) as front:
        assert main(["load", "--endpoint", front.base_url]) == 0
    assert targets(fresh_server) == local_counts
    captured = capsys.readouterr()
    assert SECRET not in captured.out + captured.err


def test_wrong_credentials_give_one_clear_line_without_the_secret(
    fresh_server, monkeypatch, capsys
):
    monkeypatch.setenv("TREATYKG_USER", USER)
    monkeypatch.setenv("TREATYKG_PASSWORD", "wrong-" + SECRET)
    with Front(fresh_server.base_url, authorization=basic(USER, SECRET)) as front:
        assert main(["load", "--endpoint", front.base_url]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"treatykg: error: endpoint refused the credentials (HTTP 401) at {front.base_url}/query"
        "; the store was not changed\n"
    )
    assert SECRET not in captured.out + captured.err
    assert targets(fresh_server) == {}


def test_missing_credentials_say_where_to_put_them(fresh_server, capsys):
    with Front(fresh_server.base_url, authorization=basic(USER, SECRET)) as front:
        assert main(["load", "--endpoint", front.base_url]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"treatykg: error: endpoint asks for credentials (HTTP 401) at {front.base_url}/query"
    )
    assert "TREATYKG_USER" in err and "~/.netrc" in err


def test_credentials_from_netrc_are_sent(
    fresh_server, local_counts, no_real_credentials, monkeypatch
):
    netrc = no_real_credentials / ".netrc"
    netrc.write_text(f"machine 127.0.0.1 login {USER} password {SECRET}\n")
    netrc.chmod(0o600)
    with Front(fresh_server.base_url, authorization=basic(USER, SECRET)) as front:
        assert main(["load", "--endpoint", front.base_url]) == 0
    assert targets(fresh_server) == local_counts


def test_a_bearer_token_from_the_environment_is_sent(
    fresh_server, local_counts, monkeypatch, capsys
):
    monkeypatch.setenv("TREATYKG_TOKEN", TOKEN)
    with Front(fresh_server.base_url, authorization=f"Bearer {TOKEN}") as front:
        assert main(["load", "--endpoint", front.base_url]) == 0
    assert targets(fresh_server) == local_counts
    captured = capsys.readouterr()
    assert TOKEN not in captured.out + captured.err


def test_credentials_in_the_url_are_refused_and_not_repeated(capsys):
    assert main(["load", "--endpoint", f"http://{USER}:{SECRET}@127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert SECRET not in err and USER not in err
    assert "http://***@127.0.0.1:1" in err and "TREATYKG_USER" in err


# --- verification -------------------------------------------------------------------------------


def test_a_write_by_someone_else_during_the_load_is_caught_by_the_counts(
    fresh_server, monkeypatch, capsys
):
    """Someone adds a triple to a target graph between the counts and the update (--append):
    the count after the load is one more than expected, and the command says so (exit 1)."""
    from functools import partial

    assert main(["load", "--endpoint", fresh_server.base_url]) == 0
    graph = sorted(count_triples())[0]

    def intruder() -> None:
        RemoteStore(fresh_server.endpoint).update(
            f"INSERT DATA {{ GRAPH <{graph}> {{ "
            "<https://example.org/x> <https://example.org/y> 1 } }"
        )

    monkeypatch.setattr(remote_store, "load", partial(remote_store.load, before_update=intruder))
    capsys.readouterr()
    assert main(["load", "--endpoint", fresh_server.base_url, "--append"]) == 1
    out = capsys.readouterr().out
    assert re.search(rf"^{re.escape(graph)}\s.*MISMATCH \(expected \d+\)$", out, re.M), out
    assert out.rstrip().endswith("COUNTS DIFFER")
