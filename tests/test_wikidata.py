"""Links to Wikidata: the link file, `treatykg link check | resolve | suggest | diff`, the client's
network behaviour and the federated queries.

No test reaches the internet: every connection and name lookup this process makes is refused
unless it is to this machine (:func:`no_internet`). A Wikidata-shaped fixture
(tests/fixtures/wikidata/items.ttl, made from the verified research rows, plus planted-items.ttl,
made-up items in the range Q9000000xx) is loaded into an ``oxigraph serve`` on 127.0.0.1 that
this module starts, keeps by its pid and stops (that process only); the client's retries are
tested against a tiny ``http.server`` on 127.0.0.1.
"""

from __future__ import annotations

import csv
import http
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
from treatykg.namespaces import GRAPH, TKG, WD
from treatykg.paths import graph_dir
from treatykg.server import OxigraphServer
from treatykg.wikidata_client import (
    USER_AGENT,
    WIKIDATA_SPARQL,
    EndpointError,
    SparqlClient,
    retry_after_seconds,
)
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
FAKE_RANGE = range(900_000_000, 900_000_200)
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module", autouse=True)
def _offline(no_internet: None) -> None:
    """Every test of this module runs with connections off this machine refused (conftest)."""


@pytest.fixture(scope="module")
def graph() -> LocalGraph:
    return LocalGraph.load()


def _link(command: str, endpoint: str, *extra: str) -> list[str]:
    """Return the argument list of ``treatykg link COMMAND --endpoint ENDPOINT …``."""
    return ["link", command, "--endpoint", endpoint, *extra]


def _json_of(args: list[str], capsys: pytest.CaptureFixture[str]):
    """Run ``treatykg ARGS --format json``, expect exit status 0, return the parsed output."""
    assert main([*args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


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


def test_the_readme_lists_the_linked_and_the_unlinked_entities(graph):
    text = README.read_text(encoding="utf-8")
    assert "## Linking to Wikidata" in text
    section = text.split("## Linking to Wikidata", 1)[1].split("\n## ", 1)[0]
    linked_part, unlinked_part = section.split("### Unlinked entities", 1)
    table = {
        (match[1], match[2])
        for match in re.finditer(r"^\| `([a-z]+:[a-z0-9-]+)` \| (Q\d+) \|", linked_part, re.M)
    }
    assert table == {(e.short, qid(e.items[0])) for e in graph.linked()}
    listed = set(re.findall(r"^- `([a-z]+:[a-z0-9-]+)` — ", unlinked_part, re.M))
    assert listed == {e.short for e in graph.unlinked()}


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


# Our classes that the type table must judge (every linkable class the graph uses but the
# generic tkg:Place and tkg:Work), and the kinds it must never accept.
JUDGED = {
    "Person", "State", "City", "Region", "Building", "Bridge", "Treaty", "Agreement", "Event",
    "Office", "Organization", "Government", "GovernmentBody", "Policy", "Programme",
    "AircraftType",
}  # fmt: skip
NEVER = {
    "Q4167410": "Wikimedia disambiguation page", "Q4167836": "Wikimedia category",
    "Q13406463": "Wikimedia list article", "Q11266439": "Wikimedia template",
    "Q101352": "family name", "Q202444": "given name",
}  # fmt: skip


def test_the_type_table_covers_our_classes_and_names_its_evidence():
    rules = wikidata.load_type_rules()
    assert wikidata.type_table_file() == graph_dir() / "wikidata" / "type-table.tsv"
    assert {r.our_class for r in rules if not r.never} >= {str(TKG[name]) for name in JUDGED}
    assert {qid(r.wikidata_class): r.label for r in rules if r.never}.items() >= NEVER.items()
    for rule in rules:
        assert rule.evidence and rule.quote, rule
        for evidence in rule.evidence.split(" ; "):
            assert re.fullmatch(r"https://github\.com/\S+|find_string:\d+", evidence), rule
        # the quote shows the identifier (as Q…, or as the SpocWiki form WD~name,number)
        number = qid(rule.wikidata_class)[1:]
        assert re.search(rf"Q{number}\b|,{number}\b", rule.quote), rule


def test_every_linkable_class_is_judged_or_said_to_be_unjudged(graph):
    """A linkable class without a type-table row is one the README names as not judged."""
    rules = wikidata.load_type_rules()
    unjudged = set()
    for entity in graph.entities().values():
        if graph.linkable(entity) and not wikidata.expected_classes(graph, entity, rules):
            unjudged |= {"tkg:" + t.rsplit("#", 1)[-1] for t in entity.types}
    text = " ".join(README.read_text(encoding="utf-8").split())
    listed = re.search(r"whose types cannot be judged: ((?:`tkg:\w+`(?:, )?)+)", text)
    assert listed, "the README's sentence listing the classes that cannot be judged"
    assert set(re.findall(r"`(tkg:\w+)`", listed[1])) == unjudged, (
        "add a row to graph/wikidata/type-table.tsv (with evidence) or list the class in the README"
    )


def test_a_type_table_file_can_replace_the_project_one(tmp_path):
    table = tmp_path / "types.tsv"
    table.write_text(
        "# our class\tWikidata class\n tkg:City\twd:Q900000099\ttest city\t-\n"
        "never\twd:Q900000098\ttest kind\n",
        encoding="utf-8",
    )
    rules = wikidata.load_type_rules(table)
    assert [(r.our_class, r.wikidata_class, r.never) for r in rules] == [
        (str(TKG.City), WD + "Q900000099", False),
        ("never", WD + "Q900000098", True),
    ]
    table.write_text("tkg:City\tnot-an-item\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"types\.tsv:1: not a Wikidata item identifier"):
        wikidata.load_type_rules(table)
    table.write_text("City\twd:Q1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"types\.tsv:1: 'City' is neither a class"):
        wikidata.load_type_rules(table)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("大连", "大連"),  # simplified / traditional
        ("中苏边界冲突", "中蘇邊界衝突"),
        ("Lüshunkou", "Lu\u0308shunkou"),  # NFC / NFD
        ("Lean to one side", "Lean to one side "),  # trailing space
        ("莫斯科", "\u3000莫斯科\u00a0"),  # ideographic and no-break spaces
    ],
)
def test_labels_that_differ_only_in_script_form_or_spaces_are_one_name(ours, theirs):
    assert wikidata.similarity(ours, theirs) == 1.0
    assert (
        wikidata.clean_label(theirs) == wikidata.clean_label(ours)
        or "\u5927" in ours
        or (wikidata.to_simplified(theirs) == ours)
    )


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
        # Written as raw bytes, so that a script can also promise more than it sends.
        fields = {"Content-Length": str(len(body)), "Connection": "close", **headers}
        head = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}"]
        head += [f"{name}: {value}" for name, value in fields.items()]
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        self.close_connection = True

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def scripted_server() -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Script)
    server.script, server.seen = [], []
    # Stopping waits for the serving loop's next look at its flag (every 0.5 s by default).
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
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
def wikidata_server() -> Iterator[OxigraphServer]:
    """An ``oxigraph serve`` (in memory, 127.0.0.1) of this module's own, holding the fixture.

    It is kept by its pid and stopped at the end of the module: that process and no other.
    """
    server = OxigraphServer(union_default_graph=False).start()
    try:
        for name in ("items.ttl", "planted-items.ttl"):
            request = urllib.request.Request(
                server.store_url + "?default",
                method="POST",
                data=(FIXTURES / name).read_bytes(),
                headers={"Content-Type": "text/turtle"},
            )
            with _OPENER.open(request, timeout=30):
                pass
        yield server
    finally:
        pid = server.pid
        server.stop()
        assert pid is not None and server.pid is None


@pytest.fixture(scope="module")
def endpoint(wikidata_server: OxigraphServer) -> str:
    """The SPARQL query URL of the module's Wikidata-shaped server."""
    return wikidata_server.query_url


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
    code = main(_link("check", endpoint, "--links-file", str(bad), "--format", "json"))
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["ok"] is False
    found = {(p["kind"], p["entity"], p["item"]) for p in report["problems"]}
    assert found == {
        ("label-mismatch", "state:japan", "wd:Q900000010"),
        ("type-mismatch", "person:zhou-enlai", "wd:Q900000011"),
        ("type-mismatch", "place:moscow", "wd:Q900000014"),
        ("duplicate-item", "state:prc", "wd:Q148"),
        ("duplicate-item", "state:roc", "wd:Q148"),
        ("label-mismatch", "state:roc", "wd:Q148"),  # 中華民國 is not 中华人民共和国
        ("redirect", "state:ussr", "wd:Q900000012"),
        ("missing-item", "place:beijing", "wd:Q900000013"),
        ("no-record", "place:xinjiang", "wd:Q34800"),
        ("contradiction", "place:central-asia", "wd:Q27275"),
        # the region's Russian label Центральная Азия is not our Средняя Азия
        ("label-mismatch", "place:central-asia", "wd:Q27275"),
    }
    details = {(p["kind"], p["entity"], p["language"]): p for p in report["problems"]}
    wrong_label = details[("label-mismatch", "state:japan", "en")]
    assert wrong_label["score"] < wikidata.SIMILARITY_THRESHOLD
    assert "Planted wrong label" in wrong_label["detail"]
    assert "测试用的错误标签" in details[("label-mismatch", "state:japan", "zh")]["detail"]
    assert "Центральная Азия" in details[("label-mismatch", "place:central-asia", "ru")]["detail"]
    assert ("label-mismatch", "place:central-asia", "en") not in details  # en fits
    details = {(p["kind"], p["entity"]): p for p in report["problems"]}
    wrong_type = details[("type-mismatch", "person:zhou-enlai")]["detail"]
    assert "human (Q5)" in wrong_type and "Q900000099" in wrong_type
    assert "is no person" in details[("type-mismatch", "place:moscow")]["detail"]
    assert "wd:Q15180" in details[("redirect", "state:ussr")]["detail"]
    statuses = {s["entity"]: s for s in report["links"]}
    assert statuses["place:moscow"]["type_fits"] is False and not statuses["place:moscow"]["ok"]
    assert statuses["place:moscow"]["label_score"] == 1.0, (
        "its labels match: only the type is wrong"
    )
    assert report["unlinked"], "the unlinked entities are listed"
    assert report["summary"]["problems"] == len(report["problems"])


@pytest.mark.server
def test_check_prints_a_table_too(endpoint, capsys):
    code = main(_link("check", endpoint, "--links-file", str(FIXTURES / "bad-links.ttl")))
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("Links checked against " + endpoint)
    assert "type-mismatch" in out and "Unlinked entities" in out
    assert out.rstrip().splitlines()[-1].startswith("FAILED: ")


@pytest.mark.server
def test_check_of_the_project_links_exits_0_and_require_links_makes_unlinked_fail(endpoint, capsys):
    assert main(_link("check", endpoint)) == 0
    assert capsys.readouterr().out.rstrip().splitlines()[-1].startswith("OK: ")
    assert main(_link("check", endpoint, "--require-links", "--format", "json")) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["problems"] == [] and report["unlinked"]


@pytest.mark.server
def test_resolve_writes_only_the_accepted_sitelink_and_only_once(endpoint, tmp_path, capsys):
    target = _links_copy(tmp_path)
    before = target.read_text(encoding="utf-8")
    args = _link(
        "resolve",
        endpoint,
        "--links-file",
        str(target),
        "--retrieved",
        "2026-11-28",
        "--format",
        "json",
    )

    assert main([*args, "--dry-run"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["accepted"] == 2 and target.read_text(encoding="utf-8") == before

    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    status = {(r["entity"], r["title"]): (r["status"], r["item"]) for r in report["resolutions"]}
    assert status[("person:zhou-enlai", "周恩来")] == ("accepted", "wd:Q900000001")
    # The other page of Zhou Enlai is the sitelink of a disambiguation page with his labels.
    assert status[("person:zhou-enlai", "周恩來")] == ("type-mismatch", "wd:Q900000100")
    # The event's Wikidata label is in traditional script: the same name.
    assert status[("event:sino-soviet-border-conflict", "中苏边界冲突")] == (
        "accepted",
        "wd:Q900000103",
    )
    # Sitelink and labels fit, but the item has no "instance of": not judged, not written.
    assert status[("event:accusation-against-ussr", "控苏案")] == ("type-unjudged", "wd:Q900000108")
    assert status[("work:xian-h-6", "轟-6")][0] == "label-mismatch"
    assert status[("person:wang-shijie", "王世杰")][0] == "ambiguous"
    assert report["written_to"] == str(target)

    after = LocalGraph.load(target)
    assert after.entity("person:zhou-enlai").items == [WD + "Q900000001"]
    assert after.entity("event:sino-soviet-border-conflict").items == [WD + "Q900000103"]
    assert after.entity("work:xian-h-6").items == []
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
    assert main(_link("resolve", endpoint, "--links-file", str(target))) == 0
    out = capsys.readouterr().out
    assert "2 link(s) written" in out
    assert links_file().read_bytes() == before


@pytest.mark.server
def test_resolve_starts_a_new_link_file(endpoint, tmp_path, capsys):
    target = tmp_path / "new" / "links.ttl"
    code = main(
        _link("resolve", endpoint, "--links-file", str(target), "--entity", "person:zhou-enlai")
    )
    assert code == 0 and "1 link(s) written" in capsys.readouterr().out
    assert LocalGraph.load(target).entity("person:zhou-enlai").items == [WD + "Q900000001"]


@pytest.mark.server
def test_suggest_ranks_candidates_and_writes_nothing(endpoint, tmp_path, capsys):
    target = _links_copy(tmp_path)
    before = target.read_bytes()
    args = _link("suggest", endpoint, "--links-file", str(target), "--entity", "person:zhou-enlai")
    suggestions = _json_of(args, capsys)
    assert target.read_bytes() == before
    assert [s["entity"] for s in suggestions] == ["person:zhou-enlai"]
    candidates = suggestions[0]["candidates"]
    # The human first; the misfits last: a "city" and a disambiguation page with his names.
    assert [(c["item"], c["type_fits"]) for c in candidates] == [
        ("wd:Q900000001", True),
        ("wd:Q900000011", False),
        ("wd:Q900000100", False),
    ]
    assert candidates[0]["score"] > candidates[1]["score"]
    assert candidates[0]["type"] == "human (Q5)"
    assert candidates[2]["type"] == "Wikimedia disambiguation page (Q4167410)"
    assert "never a link target" in candidates[2]["type_note"]
    assert candidates[0]["description_en"] == "made-up test item standing for Zhou Enlai"
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "made-up test item standing for Zhou Enlai" in out and "nothing was written" in out
    assert target.read_bytes() == before


@pytest.mark.server
def test_suggest_ranks_a_human_below_a_place_for_a_place(endpoint, capsys):
    (suggestion,) = _json_of(_link("suggest", endpoint, "--entity", "place:moscow"), capsys)
    ranked = [(c["item"], c["type_fits"]) for c in suggestion["candidates"]]
    assert ranked == [("wd:Q649", None), ("wd:Q900000014", False)]


@pytest.mark.server
def test_diff_reports_missing_and_different_and_writes_quickstatements(endpoint, tmp_path, capsys):
    target = _links_copy(tmp_path, "diff-links.ttl")
    graph = LocalGraph.load(target)
    report = wikidata.diff(graph, SparqlClient(endpoint, timeout=30))
    status = {(s.item, s.wikidata_property, s.value): s for s in report.statements}
    assert status[("Q900000020", "P585", "1950-02-14")].status == "same"
    assert status[("Q900000020", "P1891", "Q900000001")].status == "same"
    assert status[("Q900000020", "P276", "Q649")].status == "different"
    assert status[("Q900000020", "P276", "Q649")].wikidata_values == ["Q956"]
    assert status[("Q900000020", "P144", "Q900000021")].status == "missing"
    # Signatory holds many values: Wikidata lacking ours is "missing", whatever else it holds.
    molotov = status[("Q900000021", "P1891", "Q132899")]
    assert (molotov.status, molotov.wikidata_values) == ("missing", ["Q900000001"])
    # Vyshinsky is linked (Q155860): the made-up 1950 item lacks him as a signatory.
    assert status[("Q900000020", "P1891", "Q155860")].status == "missing"
    # Wang Shijie, who signed the 1945 treaty, has no link: that statement cannot be mapped.
    assert any(s["value"] == "person:wang-shijie" for s in report.skipped)

    qs = tmp_path / "missing.qs"
    code = main(_link("diff", endpoint, "--links-file", str(target), "--quickstatements", str(qs)))
    out = capsys.readouterr().out
    assert code == 0 and "missing" in out and f"written to {qs}" in out
    lines = qs.read_text(encoding="utf-8").splitlines()
    # Written: only statements whose source Wikidata accepts and whose items are trusted. The
    # 1945 treaty's date rests on the ROC law database (official): a reference URL. "Based on"
    # rests on the Chinese Wikipedia article: imported from Chinese Wikipedia (P143, Q30239).
    references = wikidata.source_references(graph)
    law = references[GRAPH + "roc-law-database-treaty-1945"]
    assert lines == [
        f'Q900000021\tP585\t+1945-08-14T00:00:00Z/11\tS854\t"{law.url}"'
        f"\tS813\t+{law.retrieved}T00:00:00Z/11",
        f"Q900000020\tP144\tQ900000021\tS143\tQ30239"
        f"\tS813\t+{references[GRAPH + 'zhwiki'].retrieved}T00:00:00Z/11",
    ]
    assert law.url.startswith("https://law.moj.gov.tw/") and law.retrieved
    # Held back, each with its reason: a mirror's statement, and statements about items whose
    # type the fixture gives no P31 for (World War II, Molotov, Moscow, Vyshinsky).
    held = {(h["item"], h["property"], h["value"]): h["reason"] for h in qs_report(graph, report)}
    assert held[("Q900000020", "P1365", "Q900000021")] == (
        "needs a better source: source:defzone-treaty-1945 is of kind mirror, "
        "which Wikidata does not take as a reference"
    )
    assert held[("Q900000021", "P1891", "Q132899")].startswith(
        "doubtful link: Q132899 is a doubtful link (type not judged"
    )
    assert held[("Q362", "P580", "1939-09-01")].startswith("doubtful link: Q362")
    assert len(lines) + len(held) == sum(1 for s in report.statements if s.status == "missing")
    assert "2 of the 8 missing ones written" in out and "not written: Q900000020 P1365" in out
    assert all("\tP1891\tQ900000001" not in line for line in lines), "an agreeing one written"

    assert main(_link("diff", endpoint, "--links-file", str(target), "--quickstatements", "-")) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == lines
    assert captured.err.count("not written: ") == len(held)


@pytest.mark.server
def test_diff_never_cites_a_blog_or_a_mirror(endpoint, tmp_path, capsys):
    # World War II and the Sino-Soviet split linked to made-up items whose types and labels fit:
    # their dates rest only on reference.com (a blog / SEO page) and wn.com (a mirror).
    target = _links_copy(tmp_path)
    text = target.read_text(encoding="utf-8").replace("wd:Q362 ", "wd:Q900000109 ")
    text += (
        "\nevent:sino-soviet-split tkg:wikidataItem wd:Q900000110 .\n"
        "link:sino-soviet-split a tkg:WikidataLink ; "
        "tkg:linkedEntity event:sino-soviet-split ; tkg:linkedItem wd:Q900000110 ; "
        "tkg:evidenceUrl <https://example.org/test-evidence> ; tkg:evidenceQuote 'test' ; "
        "tkg:retrieved '2026-11-28'^^xsd:date ; tkg:method 'evidence' .\n"
    )
    target.write_text(text, encoding="utf-8")
    graph = LocalGraph.load(target)
    report = wikidata.diff(graph, SparqlClient(endpoint, timeout=30))
    assert not {"Q900000109", "Q900000110"} & set(report.doubtful)
    qs = wikidata.quickstatements(report, graph)
    held = {(h["item"], h["property"], h["value"]): h["reason"] for h in qs.held_back}
    blog = "needs a better source: source:reference-com-world-war-ii is of kind blog, "
    mirror = "needs a better source: source:wn-sino-soviet-split is of kind mirror, "
    assert held[("Q900000109", "P580", "1939-09-01")].startswith(blog)
    assert held[("Q900000109", "P582", "1945-09-02")].startswith(blog)
    assert held[("Q900000110", "P580", "1960")].startswith(mirror)
    assert held[("Q900000110", "P582", "1989")].startswith(mirror)
    for page in ("reference.com", "wn.com", "piglix", "everything.explained", "hitchhikersgui"):
        assert page not in qs.text
    # What the Chinese Wikipedia article says of the split is imported from it (P143), not cited.
    assert qs.text.splitlines() == [
        f"Q900000110\tP710\t{item}\tS143\tQ30239\tS813\t+{read}T00:00:00Z/11"
        for item, read in (("Q148", "2026-11-28"), ("Q15180", "2026-11-28"))
    ]


def qs_report(graph: LocalGraph, report: wikidata.DiffReport) -> list[dict[str, str]]:
    return wikidata.quickstatements(report, graph).held_back


@pytest.mark.server
def test_diff_never_writes_a_statement_whose_value_is_a_doubtful_link(endpoint, tmp_path):
    # Zhou Enlai linked to the disambiguation page that carries his names: the 1950 treaty's
    # signatory statement must not be proposed, whatever its source.
    target = _links_copy(tmp_path, "diff-links.ttl")
    text = target.read_text(encoding="utf-8").replace("wd:Q900000001", "wd:Q900000100")
    target.write_text(text, encoding="utf-8")
    graph = LocalGraph.load(target)
    report = wikidata.diff(graph, SparqlClient(endpoint, timeout=30))
    assert "never a link target" in report.doubtful["Q900000100"]
    qs = wikidata.quickstatements(report, graph)
    assert "Q900000100" not in qs.text
    held = [h for h in qs.held_back if h["value"] == "Q900000100"]
    assert held and all(h["reason"].startswith("doubtful link: Q900000100") for h in held)


@pytest.mark.server
def test_diff_as_json(endpoint, tmp_path, capsys):
    target = _links_copy(tmp_path, "diff-links.ttl")
    report = _json_of(_link("diff", endpoint, "--links-file", str(target)), capsys)
    assert report["summary"]["same"] >= 2 and report["summary"]["missing"] >= 2
    assert report["summary"]["different"] == 1


# --- bad input: one line, exit status 2, nothing written ---------------------------------------


def test_a_broken_answer_is_one_line(scripted_server):
    scripted_server.script[:] = [(200, {**JSON_TYPE, "Content-Length": "500"}, b'{"head"', 0)]
    with pytest.raises(EndpointError, match=r"broke off its answer") as info:
        SparqlClient(_url(scripted_server), timeout=5).select("SELECT * {}")
    assert "\n" not in str(info.value)


def test_an_answer_that_is_not_sparql_json_is_one_line(scripted_server):
    scripted_server.script[:] = [(200, {"Content-Type": "text/html"}, b"<html>hi</html>", 0)]
    with pytest.raises(EndpointError, match=r"did not answer with SPARQL JSON results"):
        SparqlClient(_url(scripted_server), timeout=5).select("SELECT * {}")


def test_a_local_endpoint_is_asked_directly_whatever_proxy_is_set(scripted_server, monkeypatch):
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    scripted_server.script[:] = [(200, JSON_TYPE, EMPTY_RESULTS, 0)]
    rows = SparqlClient(_url(scripted_server), timeout=5).select("SELECT ?x {}")
    assert [r["x"].value for r in rows] == ["ok"]


def test_the_tests_cannot_reach_the_default_endpoint(capsys):
    code = main(["link", "check", "--timeout", "5"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"treatykg: error: cannot reach {WIKIDATA_SPARQL}: ")
    assert "do not reach the internet" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["link", "check", "--endpoint", "http://[::1/sparql"], "not an http(s) endpoint URL"),
        (["link", "check", "--endpoint", "sparql"], "not an http(s) endpoint URL"),
        # A traceback and an odd line before (found by tests/test_properties.py).
        (
            ["link", "check", "--endpoint", "http://例子.测试/sparql"],
            "write its host name in ASCII",
        ),
        (["link", "check", "--endpoint", "http://\x1b:1/sparql"], "or a control character"),
        (["link", "check", "--links-file", "no-such-links.ttl"], "does not exist"),
        (["link", "check", "--links-file", "."], "is a folder"),
        (["link", "check", "--types", "no-such-types.tsv"], "cannot read type table"),
        (["link", "check", "--timeout", "0"], "--timeout must be positive"),
        (["link", "suggest", "--limit", "0"], "--limit must be at least 1"),
        (["link", "suggest", "--entity", "person:nobody"], "no entity 'person:nobody'"),
        (["link", "resolve", "--retrieved", "2026-13-01"], "expects a date as YYYY-MM-DD"),
        (["link", "diff", "--quickstatements", "no/such/folder/x.qs"], "not a file in an existing"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message, capsys):
    endpoint = f"http://127.0.0.1:{_closed_port()}/sparql"
    if "--endpoint" not in args:
        args = [*args[:2], "--endpoint", endpoint, *args[2:]]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("treatykg: error: ") and message in err, err


def test_a_link_file_with_a_syntax_error_is_one_line(tmp_path, capsys):
    broken = tmp_path / "links.ttl"
    broken.write_text("<https://w3id.org/treatykg/id/place/moscow> <x> .\n", encoding="utf-8")
    endpoint = f"http://127.0.0.1:{_closed_port()}/sparql"
    assert main(_link("resolve", endpoint, "--links-file", str(broken))) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"treatykg: error: {broken}:")


# --- the links the research rejected -------------------------------------------------------------


def _evidence_rows() -> list[dict[str, str]]:
    with EVIDENCE_TSV.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_every_rejected_item_has_a_record_and_is_never_linked(graph):
    rejected = {row["slug"]: row["qid"] for row in _evidence_rows() if row["status"] == "rejected"}
    assert rejected == {"roc": "Q13426199", "central-asia": "Q27275"}
    recorded = {
        e.iri.rsplit("/", 1)[-1]: [qid(i) for i in e.rejected]
        for e in graph.entities().values()
        if e.rejected
    }
    assert recorded == {slug: [item] for slug, item in rejected.items()}
    for record in graph.rejections():
        assert record.reason and record.evidence_urls, record
    for entity in graph.entities().values():
        assert not set(entity.items) & set(entity.rejected), entity.short


def test_rejected_links_are_data_not_identity_axioms():
    """No owl:differentFrom (an identity axiom) anywhere; related items are skos:relatedMatch."""
    triples = list(ox.parse(path=graph_dir() / "wikidata" / "not-linked.ttl"))
    owl = "http://www.w3.org/2002/07/owl#"
    assert not [t for t in triples if t.predicate.value.startswith(owl)]
    related = {
        (t.subject.value.rsplit("/", 1)[-1], qid(t.object.value))
        for t in triples
        if t.predicate.value == "http://www.w3.org/2004/02/skos/core#relatedMatch"
    }
    assert related == {("roc", "Q13426199"), ("central-asia", "Q27275")}


def test_the_republic_of_china_is_not_linked_to_the_1912_1949_item(graph):
    roc = graph.entity("state:roc")
    assert roc.items == [] and roc in graph.unlinked()
    assert list(roc.rejected) == [WD + "Q13426199"]
    reason = roc.rejected[WD + "Q13426199"]
    # The reason compares what the item denotes (a period of China) with what the entity is.
    assert "Republic of China (1912–1949)" in reason and "period" in reason


def test_central_asia_is_soviet_central_asia_not_the_region(graph):
    central_asia = graph.entity("place:central-asia")
    assert central_asia.items == [WD + "Q1211919"]  # Soviet Central Asia
    assert list(central_asia.rejected) == [WD + "Q27275"]  # the region Central Asia
    assert "Средняя Азия" in central_asia.names("ru")  # the Soviet term for those republics


@pytest.mark.server
def test_a_rejected_item_is_never_resolved_and_is_marked_in_suggestions(endpoint, tmp_path, capsys):
    # The fixture joins the page 中亚 to Q27275 and the labels agree: only the statement stops it.
    # (In a copy of the links without the one to Soviet Central Asia, Q1211919.)
    target = _links_copy(tmp_path)
    text = target.read_text(encoding="utf-8")
    text = re.sub(r"\nplace:central-asia tkg:wikidataItem .*?\n\n", "\n\n", text, flags=re.S)
    target.write_text(text, encoding="utf-8")
    assert LocalGraph.load(target).entity("place:central-asia").items == []
    before = target.read_bytes()
    report = _json_of(
        _link("resolve", endpoint, "--links-file", str(target), "--entity", "place:central-asia"),
        capsys,
    )
    ((status, item, detail),) = [
        (r["status"], r["item"], r["detail"]) for r in report["resolutions"]
    ]
    assert (status, item) == ("rejected", "wd:Q27275") and "RejectedWikidataLink" in detail
    assert report["accepted"] == 0 and target.read_bytes() == before

    args = _link("suggest", endpoint, "--links-file", str(target), "--entity", "place:central-asia")
    (suggestion,) = _json_of(args, capsys)
    # Found by its English alias "Soviet Central Asia", the right item ranks first; the rejected
    # region comes last, marked.
    candidates = [(c["item"], c["rejected"]) for c in suggestion["candidates"]]
    assert candidates == [("wd:Q1211919", False), ("wd:Q27275", True)]
    assert main(args) == 0
    assert "REJECTED" in capsys.readouterr().out


# --- the faults of a Wikidata-shaped endpoint (planted-items.ttl, Q9000001xx) ------------------


@pytest.mark.server
def test_check_flags_a_same_named_ship_and_a_vandalised_label_and_nothing_else(
    endpoint, tmp_path, capsys
):
    links = tmp_path / "fault-links.ttl"
    shutil.copy(FIXTURES / "fault-links.ttl", links)
    code = main(_link("check", endpoint, "--links-file", str(links), "--format", "json"))
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    found = {(p["kind"], p["language"], p["entity"], p["item"]) for p in report["problems"]}
    assert found == {
        ("type-mismatch", None, "place:beijing", "wd:Q900000101"),
        ("label-mismatch", "zh", "person:joseph-stalin", "wd:Q900000106"),
    }
    details = {p["entity"]: p["detail"] for p in report["problems"]}
    assert details["place:beijing"] == (
        "expected an instance of city (Q515) or human settlement (Q486972); "
        "P31 is ship (made-up test class) (Q900000199)"
    )
    assert "ours '斯大林', Wikidata '蒋介石'" in details["person:joseph-stalin"]
    statuses = {s["entity"]: s for s in report["links"]}
    # Not flagged: Dalian's traditional label 大連, Mao's real item; Stalin's en label fits.
    assert statuses["place:dalian"]["ok"] and statuses["place:dalian"]["type_fits"] is True
    assert statuses["person:mao-zedong"]["ok"] and statuses["person:mao-zedong"]["type_fits"]
    assert statuses["person:joseph-stalin"]["type_fits"] is True
    assert statuses["place:beijing"]["type"] == "ship (made-up test class) (Q900000199)"
    # The table says which language failed and shows both labels.
    assert main(_link("check", endpoint, "--links-file", str(links))) == 1
    out = capsys.readouterr().out
    assert "label-mismatch (zh)" in out and "蒋介石" in out and "斯大林" in out


@pytest.mark.server
@pytest.mark.parametrize(
    ("entity", "item", "type_fits"),
    [
        ("place:lushunkou", "wd:Q900000104", None),  # its label in NFD; tkg:Place is not judged
        ("policy:lean-to-one-side", "wd:Q900000105", True),  # its label with a trailing space
    ],
)
def test_suggest_finds_labels_in_another_normal_form_or_with_a_trailing_space(
    endpoint, capsys, entity, item, type_fits
):
    (suggestion,) = _json_of(_link("suggest", endpoint, "--entity", entity), capsys)
    found = {c["item"]: c for c in suggestion["candidates"]}
    assert item in found, suggestion
    assert found[item]["matched"] == ["en:label"] and found[item]["type_fits"] is type_fits


@pytest.mark.server
def test_suggest_ranks_a_ship_and_a_given_name_last_and_shows_their_types(endpoint, capsys):
    args = _link("suggest", endpoint, "--entity", "place:beijing", "--entity", "person:wang-shijie")
    suggestions = {s["entity"]: s["candidates"] for s in _json_of(args, capsys)}
    beijing = [(c["item"], c["type_fits"], c["type"]) for c in suggestions["place:beijing"]]
    assert beijing == [
        ("wd:Q956", None, "-"),
        ("wd:Q900000101", False, "ship (made-up test class) (Q900000199)"),
    ]
    wang = [(c["item"], c["type_fits"]) for c in suggestions["person:wang-shijie"]]
    assert wang[-1] == ("wd:Q900000107", False)  # a given name (through a subclass of it)
    assert {i for i, fits in wang[:-1]} == {"wd:Q900000003", "wd:Q900000004"}
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "MISFIT" in out and "ship (made-up test class)" in out


def test_an_entity_without_a_type_table_row_cannot_be_judged(graph):
    # Lüshunkou is a tkg:Place: no type-table row, so even an item whose labels fit is not
    # judged (resolve then writes nothing, see test_resolve_writes_only_…).
    entity = graph.entity("place:lushunkou")
    fact = wikidata.ItemFacts(WD + "Q900000104", [("Lüshunkou", "en")], types={WD + "Q515"})
    fits, why = wikidata.type_verdict(graph, entity, fact, {}, set())
    assert fits is None and why == "type not judged: the type table has no row for tkg:Place"


@pytest.mark.parametrize("content", ["", "@prefix tkg: <https://w3id.org/treatykg/ontology#> .\n"])
def test_check_of_a_link_file_without_links_is_an_error(tmp_path, capsys, content):
    links = tmp_path / "links.ttl"
    links.write_text(content, encoding="utf-8")
    endpoint = f"http://127.0.0.1:{_closed_port()}/sparql"
    assert main(_link("check", endpoint, "--links-file", str(links))) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{links}: holds no link" in err


def test_check_of_a_truncated_link_file_is_an_error(tmp_path, capsys):
    links = tmp_path / "links.ttl"
    text = links_file().read_text(encoding="utf-8")
    cut = text.index("person:mao-zedong tkg:wikidataItem") + 30
    links.write_text(text[:cut], encoding="utf-8")
    endpoint = f"http://127.0.0.1:{_closed_port()}/sparql"
    assert main(_link("check", endpoint, "--links-file", str(links))) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"treatykg: error: {links}:")


def test_a_link_that_is_a_literal_is_an_error(tmp_path, capsys):
    links = tmp_path / "links.ttl"
    links.write_text(
        "@prefix tkg: <https://w3id.org/treatykg/ontology#> .\n"
        '<https://w3id.org/treatykg/id/place/moscow> tkg:wikidataItem "Q1" .\n',
        encoding="utf-8",
    )
    endpoint = f"http://127.0.0.1:{_closed_port()}/sparql"
    for command in ("check", "diff", "resolve", "suggest"):
        assert main(_link(command, endpoint, "--links-file", str(links))) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert 'the link of place:moscow is "Q1", not a Wikidata item IRI' in err, err


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
