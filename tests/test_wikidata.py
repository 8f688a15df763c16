"""Links to Wikidata: the link file, `treatykg link check | resolve | suggest | diff`, the client's
network behaviour and the federated queries.

No test reaches the internet. A Wikidata-shaped fixture (tests/fixtures/wikidata/items.ttl, made
from the verified research rows, plus planted-items.ttl, made-up items in the range Q9000000xx)
is loaded into the session's local ``oxigraph serve``; the client's retries are tested against a
tiny ``http.server`` on 127.0.0.1.
"""

from __future__ import annotations

import csv
import http.server
import json
import re
import shutil
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from treatykg import catalogue, querying, wikidata
from treatykg.cli import main
from treatykg.errors import InputError, ParseError
from treatykg.namespaces import TKG, WD
from treatykg.paths import graph_dir
from treatykg.wikidata_client import USER_AGENT, EndpointError, SparqlClient, retry_after_seconds
from treatykg.wikidata_links import (
    LocalGraph,
    append_atomically,
    lang_group,
    links_file,
    qid,
    wikipedia_title,
)

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures" / "wikidata"
EXPECTED = HERE / "expected"
ROOT = HERE.parent
EVIDENCE_TSV = ROOT / "docs" / "research" / "wikidata-evidence.tsv"
README = ROOT / "README.md"
FAKE_RANGE = range(900_000_000, 900_000_100)
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def graph() -> LocalGraph:
    return LocalGraph.load()


# --- the link file ------------------------------------------------------------------------------


def test_the_link_file_is_where_the_model_says_and_parses():
    assert links_file() == graph_dir() / "wikidata" / "links.ttl"
    assert list(ox.parse(path=links_file())), "the link file is empty"


def test_every_link_has_one_complete_evidence_record(graph):
    linked = graph.linked()
    assert len(linked) >= 10, "fewer links than the verified research gives"
    records = {(r.entity, r.item): r for r in graph.link_records()}
    for entity in linked:
        assert len(entity.items) == 1, f"{entity.short}: several items {entity.items}"
        record = records.get((entity.iri, entity.items[0]))
        assert record is not None, f"{entity.short}: no tkg:WikidataLink record"
        assert record.method in ("evidence", "sitelink"), record
        assert record.evidence_urls, f"{entity.short}: no evidence URL"
        for url in record.evidence_urls:
            assert url.startswith(("https://github.com/", "https://zh.wikipedia.org/wiki/")), url
            if url.startswith("https://github.com/"):
                assert re.match(r"^https://github\.com/[^/]+/[^/]+/blob/HEAD/\S+$", url), url
    assert len(records) == sum(len(e.items) for e in linked), "records without a link"


def _record_values(graph: LocalGraph, record: str, prop: str) -> list[ox.Term]:
    return [
        q.object
        for q in graph.store.quads_for_pattern(
            ox.NamedNode(record), ox.NamedNode(str(prop)), None, None
        )
    ]


def test_every_record_quotes_its_evidence_and_says_when_it_was_read(graph):
    for record in graph.link_records():
        quotes = _record_values(graph, record.iri, TKG.evidenceQuote)
        assert quotes and all(q.value.strip() for q in quotes), record.iri
        if record.method == "evidence":
            number = qid(record.item)[1:]
            assert any(number in q.value for q in quotes), f"{record.iri}: quote lacks the id"
        dates = _record_values(graph, record.iri, TKG.retrieved)
        assert len(dates) == 1 and dates[0].datatype.value.endswith("#date"), record.iri


def test_every_evidence_link_is_a_verified_research_row_and_no_other(graph):
    verified = wikidata.verified_rows(EVIDENCE_TSV)
    assert verified, "no verified rows read from the research table"
    for record in graph.link_records():
        slug = record.entity.rsplit("/", 1)[-1]
        if record.method == "evidence":
            assert verified.get(slug) == qid(record.item), (
                f"{slug}: {qid(record.item)} is not the verified identifier in {EVIDENCE_TSV.name}"
            )


def test_no_made_up_test_item_is_in_the_graph(graph):
    for entity in graph.linked():
        for item in entity.items:
            assert int(qid(item)[1:]) not in FAKE_RANGE, f"{entity.short}: test item {item}"
    text = links_file().read_text(encoding="utf-8")
    assert "Q9000000" not in text and "example.org" not in text


def test_the_wikidata_graph_names_its_source_and_describes_it(graph):
    source = ox.NamedNode("https://w3id.org/treatykg/id/source/wikidata-link-evidence")
    assert list(
        graph.store.quads_for_pattern(
            ox.NamedNode("https://w3id.org/treatykg/graph/wikidata"),
            ox.NamedNode(str(TKG.graphSource)),
            source,
            None,
        )
    )
    labels = {
        q.object.language
        for q in graph.store.quads_for_pattern(
            source, ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"), None, None
        )
    }
    assert {"en", "zh-hans"} <= labels
    assert list(
        graph.store.quads_for_pattern(
            source, ox.NamedNode("http://purl.org/dc/terms/description"), None, None
        )
    )


def test_the_readme_lists_the_unlinked_entities(graph):
    text = README.read_text(encoding="utf-8")
    assert "## Linking to Wikidata" in text
    section = text.split("## Linking to Wikidata", 1)[1]
    unlinked = [e.short for e in graph.unlinked()]
    assert unlinked, "every entity is linked: update this test and the README"
    missing = [name for name in unlinked if f"`{name}`" not in section]
    assert missing == [], "unlinked entities missing from the README section"
    linked = [e.short for e in graph.linked()]
    listed_as_unlinked = section.split("Unlinked", 1)[-1]
    assert [n for n in linked if f"`{n}`" in listed_as_unlinked] == [], "linked ones listed"


# --- small pieces -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ours", "theirs", "low", "high"),
    [
        ("Zhou Enlai", "Zhou Enlai", 1.0, 1.0),
        ("People's Republic of China", "People’s Republic of China", 1.0, 1.0),
        ("新疆", "新疆维吾尔自治区", 0.85, 0.85),
        ("Republic of China", "Republic of China (1912–1949)", 0.85, 1.0),
        ("Mao Zedong", "Joseph Stalin", 0.0, 0.5),
        ("中华人民共和国", "中华民国", 0.0, 0.79),
        ("Republic of China", "People's Republic of China", 0.0, 0.84),  # a prefix only counts
    ],
)
def test_similarity(ours, theirs, low, high):
    assert low <= wikidata.similarity(ours, theirs) <= high


def test_language_groups_and_page_titles():
    assert [lang_group(t) for t in ("zh-Hans", "ZH-hant", "zh", "en", "ru", "fr", None)] == [
        "zh",
        "zh",
        "zh",
        "en",
        "ru",
        None,
        None,
    ]
    assert wikipedia_title("https://zh.wikipedia.org/wiki/%E5%8C%97%E4%BA%AC") == "北京"
    assert wikipedia_title("https://zh.wikipedia.org/wiki/A_B") == "A B"


def test_the_type_table_names_its_evidence_and_a_table_file_can_replace_it(tmp_path):
    assert {r.our_class for r in wikidata.TYPE_FIT} >= {str(TKG.Person), str(TKG.State)}
    assert all(r.evidence.startswith("https://github.com/") for r in wikidata.TYPE_FIT)
    table = tmp_path / "types.tsv"
    table.write_text(
        "# our class\tWikidata class\n tkg:City\twd:Q900000099\ttest city\t-\n", encoding="utf-8"
    )
    rules = wikidata.load_type_rules(table)
    assert [(r.our_class, r.wikidata_class) for r in rules] == [(str(TKG.City), WD + "Q900000099")]
    table.write_text("tkg:City\tnot-an-item\n", encoding="utf-8")
    with pytest.raises(InputError, match="not a Wikidata item identifier"):
        wikidata.load_type_rules(table)


def test_a_bad_addition_leaves_the_link_file_as_it_was(tmp_path):
    target = tmp_path / "links.ttl"
    shutil.copy(links_file(), target)
    before = target.read_bytes()
    with pytest.raises(ParseError):
        append_atomically(target, "<https://example.org/a> <https://example.org/b> .\n")
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["links.ttl"], "a temporary file was left"


# --- network behaviour --------------------------------------------------------------------------


class _Script(http.server.BaseHTTPRequestHandler):
    """Answers each request with the next (status, headers, body) of the server's script."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.server.seen.append(dict(self.headers))
        status, headers, body, delay = self.server.script.pop(0)
        if delay:
            time.sleep(delay)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def scripted_server() -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Script)
    server.script, server.seen = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


EMPTY_RESULTS = json.dumps(
    {"head": {"vars": ["x"]}, "results": {"bindings": [{"x": {"type": "literal", "value": "ok"}}]}}
).encode()
JSON_TYPE = {"Content-Type": "application/sparql-results+json"}


def _url(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/sparql"


def test_429_then_200_waits_as_retry_after_says(scripted_server):
    scripted_server.script[:] = [
        (429, {"Retry-After": "2"}, b"slow down", 0),
        (503, {"Retry-After": "1"}, b"busy", 0),
        (200, JSON_TYPE, EMPTY_RESULTS, 0),
    ]
    waits: list[float] = []
    client = SparqlClient(_url(scripted_server), timeout=5, sleep=waits.append)
    rows = client.select("SELECT ?x WHERE {}")
    assert [r["x"].value for r in rows] == ["ok"]
    assert waits == [2.0, 1.0]
    assert client.requests_sent == 3
    assert all(seen["User-Agent"] == USER_AGENT for seen in scripted_server.seen)
    assert re.match(r"^treatykg/\S+ \(https://w3id\.org/treatykg; .+\)$", USER_AGENT)


def test_without_retry_after_the_wait_doubles(scripted_server):
    scripted_server.script[:] = [(503, {}, b"", 0)] * 3 + [(200, JSON_TYPE, EMPTY_RESULTS, 0)]
    waits: list[float] = []
    SparqlClient(_url(scripted_server), timeout=5, sleep=waits.append).select("SELECT * {}")
    assert waits == [1.0, 2.0, 4.0]


def test_too_many_refusals_or_too_long_a_wait_end_with_one_line(scripted_server):
    scripted_server.script[:] = [(429, {"Retry-After": "1"}, b"", 0)] * 3
    client = SparqlClient(_url(scripted_server), timeout=5, retries=2, sleep=lambda _s: None)
    with pytest.raises(EndpointError, match=r"answered HTTP 429") as info:
        client.select("SELECT * {}")
    assert "\n" not in str(info.value)
    scripted_server.script[:] = [(429, {"Retry-After": "3600"}, b"", 0)]
    with pytest.raises(EndpointError, match=r"asks to wait 3600 s"):
        SparqlClient(_url(scripted_server), timeout=5, max_wait=60, sleep=lambda _s: None).select(
            "x"
        )


def test_a_slow_endpoint_times_out(scripted_server):
    scripted_server.script[:] = [(200, JSON_TYPE, EMPTY_RESULTS, 2.0)]
    with pytest.raises(EndpointError, match=r"did not answer within 0\.5 s"):
        SparqlClient(_url(scripted_server), timeout=0.5).select("SELECT * {}")


def test_retry_after_as_an_http_date():
    assert retry_after_seconds("0") == 0.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("Thu, 01 Jan 2099 00:00:00 GMT") > 0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_endpoint_is_one_line_and_exit_2(capsys):
    endpoint = f"http://127.0.0.1:{_closed_port()}/sparql"
    code = main(["link", "check", "--endpoint", endpoint])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("treatykg: error: cannot reach " + endpoint)


def test_a_bad_endpoint_url_is_refused(capsys):
    assert main(["link", "suggest", "--endpoint", "ftp://example.org/sparql"]) == 2
    assert "not an http(s) endpoint URL" in capsys.readouterr().err


# --- against the Wikidata-shaped fixture --------------------------------------------------------


@pytest.fixture(scope="module")
def endpoint(oxigraph_server) -> str:
    """The session's Oxigraph server holding the fixture in its default graph."""
    oxigraph_server.clear()
    for name in ("items.ttl", "planted-items.ttl"):
        request = urllib.request.Request(
            oxigraph_server.store_url + "?default",
            method="POST",
            data=(FIXTURES / name).read_bytes(),
            headers={"Content-Type": "text/turtle"},
        )
        with _OPENER.open(request, timeout=30):
            pass
    return oxigraph_server.query_url


def _links_copy(tmp_path: Path, *extra: str) -> Path:
    path = tmp_path / "links.ttl"
    text = links_file().read_text(encoding="utf-8")
    for name in extra:
        text += "\n" + (FIXTURES / name).read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.server
def test_check_finds_the_real_links_consistent_with_the_fixture(endpoint, graph):
    report = wikidata.check(graph, SparqlClient(endpoint, timeout=30))
    assert [(p.kind, p.entity, p.detail) for p in report.problems] == []
    assert len(report.links) == len(graph.linked())
    assert all(s.ok for s in report.links)
    fitted = {s.entity for s in report.links if s.type_fits}
    assert {"state:prc", "state:ussr", "person:mao-zedong", "person:joseph-stalin"} <= fitted
    assert {u["entity"] for u in report.unlinked} == {e.short for e in graph.unlinked()}


@pytest.mark.server
def test_check_catches_every_planted_defect_and_exits_1(endpoint, tmp_path, capsys):
    bad = tmp_path / "bad-links.ttl"
    shutil.copy(FIXTURES / "bad-links.ttl", bad)
    code = main(
        ["link", "check", "--endpoint", endpoint, "--links-file", str(bad), "--format", "json"]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["ok"] is False
    found = {(p["kind"], p["entity"], p["item"]) for p in report["problems"]}
    assert found == {
        ("label-mismatch", "state:japan", "wd:Q900000010"),
        ("type-mismatch", "person:zhou-enlai", "wd:Q900000011"),
        ("duplicate-item", "state:prc", "wd:Q148"),
        ("duplicate-item", "state:roc", "wd:Q148"),
        ("label-mismatch", "state:roc", "wd:Q148"),  # 中華民國 is not 中华人民共和国
        ("redirect", "state:ussr", "wd:Q900000012"),
        ("missing-item", "place:beijing", "wd:Q900000013"),
        ("no-record", "place:xinjiang", "wd:Q34800"),
    }
    by_kind = {p["kind"]: p for p in report["problems"]}
    assert by_kind["label-mismatch"]["score"] < wikidata.SIMILARITY_THRESHOLD
    assert "human (Q5)" in by_kind["type-mismatch"]["detail"]
    assert "Q900000099" in by_kind["type-mismatch"]["detail"]
    assert "wd:Q15180" in by_kind["redirect"]["detail"]
    assert report["unlinked"], "the unlinked entities are listed"


@pytest.mark.server
def test_check_prints_a_table_too(endpoint, tmp_path, capsys):
    code = main(
        ["link", "check", "--endpoint", endpoint, "--links-file", str(FIXTURES / "bad-links.ttl")]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert (
        "type-mismatch" in out
        and "Unlinked entities" in out
        and out.rstrip().startswith("Links checked")
        and "FAILED:" in out
    )


@pytest.mark.server
def test_resolve_writes_only_the_accepted_sitelink_and_only_once(endpoint, tmp_path, capsys):
    target = _links_copy(tmp_path)
    before = target.read_text(encoding="utf-8")
    args = [
        "link",
        "resolve",
        "--endpoint",
        endpoint,
        "--links-file",
        str(target),
        "--retrieved",
        "2026-11-28",
        "--format",
        "json",
    ]

    assert main([*args, "--dry-run"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["accepted"] == 1 and target.read_text(encoding="utf-8") == before

    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    status = {(r["entity"], r["title"]): (r["status"], r["item"]) for r in report["resolutions"]}
    assert status[("person:zhou-enlai", "周恩来")] == ("accepted", "wd:Q900000001")
    assert status[("person:zhou-enlai", "周恩來")][0] == "no-sitelink"
    assert status[("person:andrey-vyshinsky", "安德烈·维辛斯基")][0] == "label-mismatch"
    assert status[("person:wang-shijie", "王世杰")][0] == "ambiguous"
    assert report["written_to"] == str(target)

    after = LocalGraph.load(target)
    assert after.entity("person:zhou-enlai").items == [WD + "Q900000001"]
    assert after.entity("person:andrey-vyshinsky").items == []
    assert after.entity("person:wang-shijie").items == []
    record = next(r for r in after.link_records() if r.item == WD + "Q900000001")
    assert record.method == "sitelink"
    assert record.evidence_urls == ("https://zh.wikipedia.org/wiki/%E5%91%A8%E6%81%A9%E6%9D%A5",)
    dates = _record_values(after, record.iri, TKG.retrieved)
    assert [d.value for d in dates] == ["2026-11-28"]
    assert target.read_text(encoding="utf-8").startswith(before), "the old text is kept as is"

    written = target.read_text(encoding="utf-8")
    assert main(args) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["accepted"] == 0 and target.read_text(encoding="utf-8") == written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["links.ttl"]


@pytest.mark.server
def test_resolve_never_touches_the_project_link_file_when_given_another(endpoint, tmp_path, capsys):
    before = links_file().read_bytes()
    target = _links_copy(tmp_path)
    assert main(["link", "resolve", "--endpoint", endpoint, "--links-file", str(target)]) == 0
    out = capsys.readouterr().out
    assert "1 link(s) written" in out
    assert links_file().read_bytes() == before


@pytest.mark.server
def test_suggest_ranks_candidates_and_writes_nothing(endpoint, tmp_path, capsys):
    target = _links_copy(tmp_path)
    before = target.read_bytes()
    code = main(
        [
            "link",
            "suggest",
            "--endpoint",
            endpoint,
            "--links-file",
            str(target),
            "--entity",
            "person:zhou-enlai",
            "--format",
            "json",
        ]
    )
    suggestions = json.loads(capsys.readouterr().out)
    assert code == 0 and target.read_bytes() == before
    assert [s["entity"] for s in suggestions] == ["person:zhou-enlai"]
    candidates = suggestions[0]["candidates"]
    assert [c["item"] for c in candidates] == ["wd:Q900000001", "wd:Q900000011"]
    assert candidates[0]["score"] > candidates[1]["score"]
    assert candidates[0]["type_fits"] is True and candidates[1]["type_fits"] is False
    assert candidates[0]["description_en"] == "made-up test item standing for Zhou Enlai"
    assert (
        main(
            [
                "link",
                "suggest",
                "--endpoint",
                endpoint,
                "--links-file",
                str(target),
                "--entity",
                "person:zhou-enlai",
            ]
        )
        == 0
    )
    assert "nothing was written" in capsys.readouterr().out


@pytest.mark.server
def test_diff_reports_missing_and_different_and_writes_quickstatements(endpoint, tmp_path, capsys):
    target = _links_copy(tmp_path, "diff-links.ttl")
    graph = LocalGraph.load(target)
    report = wikidata.diff(graph, SparqlClient(endpoint, timeout=30))
    status = {(s.item, s.wikidata_property, s.value): s.status for s in report.statements}
    assert status[("Q900000020", "P585", "1950-02-14")] == "same"
    assert status[("Q900000020", "P1891", "Q900000001")] == "same"
    assert status[("Q900000020", "P276", "Q649")] == "different"
    assert status[("Q900000020", "P144", "Q900000021")] == "missing"
    different = next(s for s in report.statements if s.status == "different")
    assert different.wikidata_values == ["Q956"]
    assert any(s["value"] == "person:andrey-vyshinsky" for s in report.skipped)

    qs = tmp_path / "missing.qs"
    code = main(
        [
            "link",
            "diff",
            "--endpoint",
            endpoint,
            "--links-file",
            str(target),
            "--quickstatements",
            str(qs),
        ]
    )
    assert code == 0 and "missing" in capsys.readouterr().out
    lines = qs.read_text(encoding="utf-8").splitlines()
    missing = [s for s in report.statements if s.status == "missing"]
    assert len(lines) == len(missing) > 0
    based_on = next(line for line in lines if "\tP144\t" in line).split("\t")
    assert based_on[:4] == ["Q900000020", "P144", "Q900000021", "S854"]
    assert re.fullmatch(r'"https?://\S+"', based_on[4]), based_on
    assert based_on[5] == "S813" and re.fullmatch(r"\+\d{4}-\d\d-\d\dT00:00:00Z/11", based_on[6])
    for line in lines:  # every line carries a reference to our source
        assert "\tS854\t" in line, line
    assert all("\tP1891\tQ900000001" not in line for line in lines), "an agreeing one written"


# --- federated queries --------------------------------------------------------------------------

FEDERATED = [q for q in catalogue.stored_queries() if q.name.startswith("federated-")]


def test_there_are_federated_queries_with_a_service_parameter():
    assert len(FEDERATED) >= 3
    for query in FEDERATED:
        service = query.parameter("service")
        assert service.type == "IRI"
        assert service.term().value == "https://query.wikidata.org/sparql"
        assert re.search(r"SERVICE\s+\?service\b", query.text), query.name


@pytest.mark.server
@pytest.mark.parametrize("query", FEDERATED, ids=[q.name for q in FEDERATED])
def test_federated_query_answers_from_the_fixture(query, endpoint):
    from test_queries import assert_answer  # the expected-answer rules of tests/test_queries.py

    answer = querying.run(query, {"service": endpoint})
    assert answer.rows, f"{query.name}: no rows"
    assert_answer(query, answer, EXPECTED / f"{query.name}.csv")


@pytest.mark.server
def test_the_signatory_lifespans_come_from_the_service(endpoint):
    query = catalogue.stored_query("federated-signatory-lifespans")
    answer = querying.run(query, {"service": endpoint, "treaty": "treaty:treaty-1945"})
    rows = {querying.short_name(r[0]): [querying.short_name(t) for t in r[2:]] for r in answer.rows}
    assert rows["person:vyacheslav-molotov"] == [
        "wd:Q132899",
        "1890-03-09T00:00:00Z",
        "1986-11-08T00:00:00Z",
    ]
    with pytest.raises(Exception, match=r"refused|connect|reach|error"):
        querying.run(
            query,
            {
                "service": f"http://127.0.0.1:{_closed_port()}/sparql",
                "treaty": "treaty:treaty-1945",
            },
        )


def test_expected_answers_of_federated_queries_are_csv():
    for query in FEDERATED:
        rows = list(csv.reader((EXPECTED / f"{query.name}.csv").open(encoding="utf-8")))
        assert rows and rows[0], query.name
