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
import urllib.request
from collections.abc import Callable, Iterator
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
    request bodies slowly (``read_pause`` seconds per 64 kB, as a store busy writing does), may
    hold back the upstream's answer (``reply_pause(method, path) -> seconds``) and may drop the
    connection halfway through it (``cut_reply(method, path) -> bool``). A held-back answer goes
    out when the front closes: by then the client has given up waiting (what such tests check),
    and the test need not wait for the rest of the pause."""

    def __init__(
        self,
        upstream: str,
        *,
        authorization: str | None = None,
        answer: Callable[[str, str], tuple[int, dict[str, str], bytes] | None] | None = None,
        read_pause: float = 0.0,
        reply_pause: Callable[[str, str], float] | None = None,
        cut_reply: Callable[[str, str], bool] | None = None,
    ) -> None:
        self.upstream = upstream
        self.authorization = authorization
        self.answer = answer
        self.seen: list[str] = []
        self.closing = threading.Event()
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
                try:
                    connection.request(self.command, self.path, body=body, headers=headers)
                    response = connection.getresponse()
                    data = response.read()
                except OSError:  # the store is gone: so is the answer, as through a real proxy
                    return self._cut(0, {}, b"")
                kept = {
                    k: v
                    for k, v in response.getheaders()
                    if k.lower() not in ("content-length", "transfer-encoding", "connection")
                }
                connection.close()
                if reply_pause is not None:
                    front.closing.wait(reply_pause(self.command, self.path))
                if cut_reply is not None and cut_reply(self.command, self.path):
                    return self._cut(response.status, kept, data)
                return self._reply(response.status, kept, data)

            def _cut(self, status, headers, body):
                """Send the head and half the body, then drop the connection (an answer without
                a body, such as 204, is dropped before its head)."""
                if not body:
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body) + 100))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True

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
        # Stopping waits for the serving loop's next look at its flag (every 0.5 s by default).
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> Front:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.closing.set()
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
            front.closing.wait(1.0)  # longer than the client waits; over when the test ends
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
        # Until the load is done and this client has seen its result: a query begun just before
        # the update was committed still sees the old graphs, and the load ends soon after.
        while not done.is_set():
            seen.append(counts(fresh_server))
        deadline = time.monotonic() + 10
        while seen[-1:] != [after] and time.monotonic() < deadline:
            seen.append(counts(fresh_server))

    watcher = threading.Thread(target=watch)
    with Front(fresh_server.base_url, read_pause=0.01) as front:
        watcher.start()
        try:
            assert main(["load", "--endpoint", front.base_url, *map(str, new)]) == 0
        finally:
            done.set()
            watcher.join()
    assert len(seen) > 3
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


def test_retries_back_off_and_then_give_up(capsys, monkeypatch):
    waits = _record_waits(monkeypatch)  # test_a_busy_store_is_... sleeps for real
    port = free_port()
    code = main(
        ["load", "--endpoint", f"http://127.0.0.1:{port}", "--retries", "2", "--backoff", "0.2"]
    )
    assert code == 2
    assert capsys.readouterr().err.endswith(
        "connection refused (after 3 attempts); the store was not changed\n"
    )
    assert waits == [0.2, 0.4]  # 0.2 s, then 0.4 s


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
        (
            ["--endpoint", "http://\x1b:7878"],
            "bad endpoint URL 'http://\\x1b:7878': it holds white space or a control character",
        ),
        (["--endpoint", "http://例子.测试"], "bad endpoint URL 'http://例子.测试': write its host"),
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


# --- the fault matrix: load -----------------------------------------------------------------------
#
# Each case loads new versions of two graphs over old ones through a front that misbehaves in
# one way, and checks three things: the exit status, the one line the command prints, and that
# the store then holds the old graphs or the new ones, whole (the case says which). The server
# stopped before, during and after a load, and two loads at once, have tests of their own below
# and above (the kills mid-upload).


def _record_waits(patch: pytest.MonkeyPatch) -> list[float]:
    """Make the HTTP clients record each pause they take instead of sleeping it.

    The pause a client computes (Retry-After, or its backoff) is what these tests check; the
    tests that sleep it for real (test_a_busy_store_is_retried_after_the_time_it_asks, the link
    matrix's "503 once") prove that the computed pause is then actually waited.
    """
    from treatykg.wikidata_client import SparqlClient

    waits: list[float] = []
    patch.setitem(remote_store.HttpClient.__init__.__kwdefaults__, "sleep", waits.append)
    patch.setitem(SparqlClient.__init__.__kwdefaults__, "sleep", waits.append)
    return waits


MATRIX_NEW = 2_000


class Faults:
    """The hooks of one misbehaving front, with what they have seen so far."""

    def __init__(self) -> None:
        self.updates = 0
        self.queries = 0

    def seen(self, path: str) -> str:
        if path.startswith("/update"):
            self.updates += 1
            return "update"
        if path.startswith("/query"):
            self.queries += 1
            return "query"
        return "other"


def _fault_500(f: Faults, method: str, path: str):
    if f.seen(path) == "update":
        return 500, {}, b"boom: disk full\nat line 3"
    return None


def _fault_503_always(f: Faults, method: str, path: str):
    if f.seen(path) == "update":
        return 503, {}, b"busy: too many writers"
    return None


def _fault_429_once(f: Faults, method: str, path: str):
    if f.seen(path) == "update" and f.updates == 1:
        return 429, {"Retry-After": "1"}, b"slow down"
    return None


def _fault_garbage_first_query(f: Faults, method: str, path: str):
    if f.seen(path) == "query" and f.queries == 1:
        return 200, {"Content-Type": "application/sparql-results+json"}, b"<html>oops</html>"
    return None


def _fault_garbage_after_update(f: Faults, method: str, path: str):
    if f.seen(path) == "query" and f.updates:
        return 200, {"Content-Type": "application/sparql-results+json"}, b'{"head": '
    return None


FAULTS = {
    # name: (answer, reply_pause, cut_reply, extra argv, exit status, store after, message)
    "500 on the update": (
        _fault_500, None, None, [], 2, "old",
        "HTTP 500 from {front}/update while uploading 2 graphs: boom: disk full; "
        "the store was not changed",
    ),
    "503 on every try of the update": (
        _fault_503_always, None, None, ["--retries", "1"], 2, "old",
        "HTTP 503 from {front}/update while uploading 2 graphs: busy: too many writers "
        "(after 2 attempts); the store was not changed",
    ),
    "429 with Retry-After once": (_fault_429_once, None, None, ["--retries", "1"], 0, "new", None),
    "a garbage body for the first query": (
        _fault_garbage_first_query, None, None, [], 2, "old",
        "{front} did not answer with SPARQL JSON results (application/sparql-results+json); "
        "the store was not changed",
    ),
    "a garbage body for the counts after the update": (
        _fault_garbage_after_update, None, None, [], 2, "new",
        "{front} did not answer with SPARQL JSON results (application/sparql-results+json); "
        "the update went through, so the store holds the new graphs, but they could not be "
        "counted; load again to check",
    ),
    "the update's answer delayed past the timeout": (
        None, lambda f, m, p: 2.0 if p.startswith("/update") else 0.0, None,
        ["--timeout", "0.5"], 2, "new",
        "no answer from {front}/update within 0.5 s while uploading 2 graphs: the store holds "
        "either the old graphs or, if it received the whole update, the new ones, never a mix; "
        "load again (a large update may still be running: give it time, or a larger --timeout)",
    ),
    "the connection dropped before the update's answer": (
        None, None, lambda f, m, p: p.startswith("/update"), [], 2, "new",
        "lost the connection to {front}/update while uploading 2 graphs: {reason}: the store "
        "holds either the old graphs or, if it received the whole update, the new ones, never a "
        "mix; load again",
    ),
    "the connection dropped in the first query's answer": (
        None, None, lambda f, m, p: f.seen(p) == "query" and f.queries == 1, [], 2, "old",
        "lost the connection to {front}/query: {reason}; the store was not changed",
    ),
    "the connection dropped in a count's answer, then retried": (
        None, None, lambda f, m, p: f.seen(p) == "query" and f.queries == 1, ["--retries", "1"],
        0, "new", None,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(FAULTS))
def test_fault_matrix_for_load(name, fresh_server, tmp_path, capsys, monkeypatch):
    answer, pause, cut, argv, code, holds, message = FAULTS[name]
    waits = _record_waits(monkeypatch)
    old = _two_graphs(tmp_path / "old", 100) if (tmp_path / "old").mkdir() is None else []
    assert main(["load", "--endpoint", fresh_server.base_url, *map(str, old)]) == 0
    new = _two_graphs(tmp_path, MATRIX_NEW, offset=5000)
    states = {
        "old": counts(fresh_server),
        "new": {graph_name_for(new[0]): 10, graph_name_for(new[1]): MATRIX_NEW},
    }
    faults = Faults()

    def bind(hook):
        return None if hook is None else (lambda m, p: hook(faults, m, p))

    capsys.readouterr()
    with Front(
        fresh_server.base_url, answer=bind(answer), reply_pause=bind(pause), cut_reply=bind(cut)
    ) as front:
        argv = ["load", "--endpoint", front.base_url, "--backoff", "0.01", *argv]
        got = main(
            [*argv, *(["--retries", "0"] if "--retries" not in argv else []), *map(str, new)]
        )
    err = capsys.readouterr().err
    assert got == code, err
    assert counts(fresh_server) == states[holds]
    if message is None:
        assert err == ""
    else:
        # {reason}: the operating system's words (reset, or closed), which vary with timing
        expected = re.escape(message.format(front=front.base_url, reason="\0"))
        assert re.match("treatykg: error: " + expected.replace("\0", ".+"), err), err
        assert err.count("\n") == 1
    if "Retry-After" in name:
        assert waits == [1.0]  # it waited as asked (Retry-After: 1), not its 0.01 s backoff


def test_fault_matrix_server_stopped_before_the_load(tmp_path, capsys):
    old, _new, old_counts, _new_counts = _old_and_new(tmp_path)
    location = tmp_path / "store"
    with OxigraphServer(location=location) as first:
        load(first.endpoint, old)
        url = first.base_url
    code = main(["load", "--endpoint", url, "--retries", "1", "--backoff", "0.01"])
    assert code == 2
    assert capsys.readouterr().err == (
        f"treatykg: error: cannot reach {url}/query: connection refused (after 2 attempts); the "
        "store was not changed\n"
    )
    with OxigraphServer(location=location) as second:
        assert counts(second) == old_counts


def test_fault_matrix_server_stopped_after_the_update(tmp_path, capsys):
    """The server dies after it committed the update, before the counts: the command says the
    store holds the new graphs and asks for a load to check; after a restart, it does."""
    old = _two_graphs(tmp_path / "old", 100) if (tmp_path / "old").mkdir() is None else []
    new = _two_graphs(tmp_path, MATRIX_NEW, offset=5000)
    new_counts = {graph_name_for(new[0]): 10, graph_name_for(new[1]): MATRIX_NEW}
    location = tmp_path / "store"
    with OxigraphServer(location=location) as first:
        assert main(["load", "--endpoint", first.base_url, *map(str, old)]) == 0
        updated = []

        def die_after_the_update(method, path):
            if path.startswith("/update"):
                updated.append(path)
            elif updated and first.is_running():
                first.kill()
            return None

        with Front(first.base_url, answer=die_after_the_update) as front:
            capsys.readouterr()
            argv = ["load", "--endpoint", front.base_url, "--retries", "0", *map(str, new)]
            assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"treatykg: error: lost the connection to {front.base_url}/query: "), err
    assert err.endswith(
        "; the update went through, so the store holds the new graphs, but they could not be "
        "counted; load again to check\n"
    ), err
    with OxigraphServer(location=location) as second:
        assert counts(second) == new_counts


def test_fault_matrix_two_loads_of_the_same_graphs_at_once(fresh_server, tmp_path):
    """Two `treatykg load` processes replace the same two graphs at the same moment, one with
    3,000 triples in the big graph, the other with 2,000: the store ends up holding one load's
    graphs, whole — never a mix of the two — and each command's table says what it found."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    files = {
        "a": _two_graphs(tmp_path / "a", 3_000, offset=10_000),
        "b": _two_graphs(tmp_path / "b", 2_000, offset=20_000),
    }
    command = [sys.executable, "-m", "treatykg", "load", "--endpoint", fresh_server.base_url]
    processes = {
        name: subprocess.Popen(
            [*command, *map(str, paths)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for name, paths in files.items()
    }
    results = {}
    for name, process in processes.items():
        out, err = process.communicate(timeout=120)
        results[name] = (process.returncode, out, err)
    for code, out, err in results.values():
        assert "Traceback" not in err
        assert code in (0, 1), err
        verdict = "every graph holds the local count" if code == 0 else "COUNTS DIFFER"
        assert out.rstrip().endswith(verdict), out
    big = graph_name_for(files["a"][1])
    held = counts(fresh_server)
    assert held in ({graph_name_for(files["a"][0]): 10, big: 3_000},
                    {graph_name_for(files["a"][0]): 10, big: 2_000})  # fmt: skip
    winner = "a" if held[big] == 3_000 else "b"
    offset = 1_010_000 if winner == "a" else 1_020_000
    rows = RemoteStore(fresh_server.endpoint).select(
        f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{big}> {{ ?s ?p ?o }} "
        f'FILTER(STRSTARTS(STR(?s), "https://example.org/id/thing-{offset // 10_000}")) }}'
    )
    assert int(rows[0]["n"]) == held[big]  # every triple from the one load, none from the other
    # The load whose update came last found its own graphs when it counted them: "ok". The
    # other says "ok" too, or MISMATCH if the last update came between its update and its counts.
    assert results[winner][0] == 0, results[winner][1]


# --- the fault matrix: link ---------------------------------------------------------------------
#
# `treatykg link resolve` asks a Wikidata-shaped endpoint (the fixture of tests/test_wikidata.py in
# an Oxigraph server of this module's own) and then adds the links it accepts to the link file.
# Through a front that misbehaves, it either writes the same file a clean run writes, or exits 2
# with one line and leaves the file byte for byte as it was.

WIKIDATA_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "wikidata"
RETRIEVED = "2026-11-28"


@pytest.fixture(scope="module")
def wikidata_like() -> Iterator[OxigraphServer]:
    """An in-memory Oxigraph holding the Wikidata-shaped fixture; stopped by its pid."""
    with OxigraphServer(union_default_graph=False) as server:
        for name in ("items.ttl", "planted-items.ttl"):
            request = urllib.request.Request(
                server.store_url + "?default",
                method="POST",
                data=(WIKIDATA_FIXTURES / name).read_bytes(),
                headers={"Content-Type": "text/turtle"},
            )
            with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request):
                pass
        yield server


def _resolve(endpoint: str, links: Path, *extra: str) -> int:
    return main(
        ["link", "resolve", "--endpoint", endpoint, "--links-file", str(links),
         "--retrieved", RETRIEVED, *extra]
    )  # fmt: skip


@pytest.fixture(scope="module")
def resolved(wikidata_like, tmp_path_factory) -> tuple[bytes, bytes]:
    """The project's link file before, and after a clean `link resolve` against the fixture."""
    from treatykg.wikidata_links import links_file

    target = tmp_path_factory.mktemp("clean") / "links.ttl"
    before = links_file().read_bytes()
    target.write_bytes(before)
    assert _resolve(wikidata_like.query_url, target) == 0
    after = target.read_bytes()
    assert after != before and after.startswith(before)
    return before, after


def _link_fault_500(f: Faults, method: str, path: str):
    return (500, {}, b"java.lang.OutOfMemoryError\nat ...") if f.seen(path) == "query" else None


def _link_fault_once(status: int, headers: dict[str, str]):
    def hook(f: Faults, method: str, path: str):
        if f.seen(path) == "query" and f.queries == 1:
            return status, headers, b"Too many requests"
        return None

    return hook


def _link_fault_garbage(f: Faults, method: str, path: str):
    if f.seen(path) == "query" and f.queries == 2:
        return 200, {"Content-Type": "application/sparql-results+json"}, b"<html>maintenance"
    return None


def _link_fault_dies_midway(f: Faults, method: str, path: str):
    """The endpoint answers two queries, then is gone (every later connection is dropped)."""
    f.seen(path)
    return f.queries > 2


LINK_FAULTS = {
    # name: (answer, reply_pause, cut_reply, extra argv, exit status, message or None)
    "stopped before": (None, None, None, [], 2, "cannot reach {closed}/query: "),
    "stopped midway": (
        None, None, _link_fault_dies_midway, [], 2,
        "{front}/query broke off its answer",
    ),
    "500": (_link_fault_500, None, None, [], 2, "{front}/query answered HTTP 500 "),
    "429 with Retry-After once": (
        _link_fault_once(429, {"Retry-After": "3"}), None, None, [], 0, None,
    ),
    "503 once": (_link_fault_once(503, {}), None, None, [], 0, None),
    "a garbage body": (
        _link_fault_garbage, None, None, [], 2,
        "{front}/query did not answer with SPARQL JSON results",
    ),
    "answers delayed past the timeout": (
        None, lambda f, m, p: 1.5, None, ["--timeout", "0.5"], 2,
        "{front}/query did not answer within 0.5 s",
    ),
    "the connection dropped mid-answer": (
        None, None, lambda f, m, p: f.seen(p) == "query" and f.queries == 3, [], 2,
        "{front}/query broke off its answer",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(LINK_FAULTS))
def test_fault_matrix_for_link(name, wikidata_like, resolved, tmp_path, capsys, monkeypatch):
    answer, pause, cut, extra, code, message = LINK_FAULTS[name]
    # The pause that Retry-After asks for is recorded, not slept: "503 once" sleeps its 1 s.
    waits = _record_waits(monkeypatch) if "Retry-After" in name else None
    before, after = resolved
    (tmp_path / "links").mkdir()
    links = tmp_path / "links" / "links.ttl"
    links.write_bytes(before)
    faults = Faults()

    def bind(hook):
        return None if hook is None else (lambda m, p: hook(faults, m, p))

    closed = f"http://127.0.0.1:{free_port()}"
    capsys.readouterr()
    with Front(
        wikidata_like.base_url, answer=bind(answer), reply_pause=bind(pause), cut_reply=bind(cut)
    ) as front:
        base = closed if name == "stopped before" else front.base_url
        started = time.monotonic()
        got = _resolve(base + "/query", links, *extra)
        elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert got == code, err
    if code == 0:
        assert links.read_bytes() == after, "the same file as a clean run"
        if waits is None:
            assert elapsed >= 1.0  # it waited before asking again
        else:
            assert waits == [3.0]  # it waited as long as Retry-After asked before asking again
    else:
        assert links.read_bytes() == before, "the link file is left byte for byte as it was"
        assert err.startswith(
            "treatykg: error: " + message.format(front=front.base_url, closed=closed)
        ), err
        assert err.count("\n") == 1
    assert [p.name for p in links.parent.iterdir()] == ["links.ttl"]  # no temporary file left
