"""The stored queries: each gives its expected answer on the real graph, and the catalogue is whole.

Expected answers live in ``tests/expected/<query-name>.csv`` (SELECT), ``.ttl`` (CONSTRUCT,
DESCRIBE) or ``.ask`` (ASK), written from what the sources say. In a CSV, a cell is compared with
the term as a table shows it (``person:zhou-enlai``, a literal's value); with its datatype when
written ``value^^prefix:name`` (``1950-02-14^^xsd:date``: the precision is part of the answer); or,
when the cell starts with ``"`` or ``<``, with the term in Turtle (a language-tagged text is
written ``"text"@zh-Hans`` with its quotes doubled, as CSV quotes a field). A cell is one term: no
query joins values into one (SPARQL leaves GROUP_CONCAT's order open). A cell ``*`` matches any
value: it is kept for editorial prose (the reasons of claims) and for the statistics' counts,
which the tests below check against counts made without SPARQL. Rows compare in order when the
query has ORDER BY, else as a multiset.

Federated queries (SERVICE) have their expected answers here too; they are run against the
Wikidata-shaped fixture by tests/test_wikidata.py, which uses :func:`assert_answer`.

Small worlds in ``tests/fixtures/queries/<query-name>--<case>.ttl`` (loaded with the ontology,
without the graph) have their answers beside them in ``<query-name>--<case>.answer.<ext>``, checked
on both embedded engines; every ASK query has one whose answer is the opposite of the real graph's.

The same rows through a SPARQL endpoint (``--endpoint``, a local ``oxigraph serve``) are checked
in tests/test_store.py (every stored query) and tests/test_query_cli.py (the command line).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import re
import socket
import threading
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from treatykg import catalogue, querying
from treatykg.cli import main
from treatykg.errors import InputError
from treatykg.loading import load_store, ontology_files
from treatykg.rdflib_graphs import load_rdflib_dataset, to_rdflib_term

HERE = Path(__file__).resolve().parent
EXPECTED = HERE / "expected"
FIXTURES = HERE / "fixtures" / "queries"
QUERIES = catalogue.stored_queries()
NAMES = [q.name for q in QUERIES]
# Federated queries ask another endpoint; tests never touch the internet, so they are answered
# from a fixture in tests/test_wikidata.py, and left out of the engine and endpoint comparisons.
LOCAL = [q for q in QUERIES if not querying.is_federated(q.text)]
LOCAL_NAMES = [q.name for q in LOCAL]
EXTENSION = {"SELECT": ".csv", "ASK": ".ask", "CONSTRUCT": ".ttl", "DESCRIBE": ".ttl"}
XSD = "http://www.w3.org/2001/XMLSchema#"


@pytest.fixture(scope="session")
def store() -> ox.Store:
    return load_store()


def form_of(query: catalogue.StoredQuery) -> str:
    return querying.check_syntax(query.text, query.name)


# --- reading expected answers -------------------------------------------------------------------


def turtle_term(term) -> str:
    """A term in Turtle with the project's prefixes (language tags lower-cased)."""
    if term is None:
        return ""
    if isinstance(term, ox.Literal):
        value = str(ox.Literal(term.value))  # the quoted, escaped lexical form
        if term.language:
            return f"{value}@{term.language.lower()}"
        if term.datatype.value == XSD + "string":
            return value
        return f"{value}^^{querying.short_name(term.datatype)}"
    return querying.short_name(term)


TYPED = re.compile(r"^(?P<value>.*)\^\^(?P<datatype>[a-z]+:[A-Za-z]+)$", re.DOTALL)


def cell(expected: str, term) -> str:
    """What the actual term looks like in the notation the expected cell uses."""
    if expected[:1] in ('"', "<"):
        shown = turtle_term(term)
    elif TYPED.match(expected) and isinstance(term, ox.Literal) and not term.language:
        shown = f"{term.value}^^{querying.short_name(term.datatype)}"
    else:
        shown = querying.short_name(term)
    return shown


def matches(expected: str, actual: str) -> bool:
    return expected == "*" or expected == actual


def normal(expected: str) -> str:
    if expected.startswith('"') and "@" in expected:  # language tags compare case-insensitively
        head, _, tag = expected.rpartition("@")
        expected = f"{head}@{tag.lower()}"
    return expected


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    return rows[0], rows[1:]


def graph_of(triples) -> Graph:
    graph = Graph()
    for t in triples:
        graph.add(
            (to_rdflib_term(t.subject), to_rdflib_term(t.predicate), to_rdflib_term(t.object))
        )
    return graph


def turtle_graph(path: Path) -> Graph:
    return graph_of(q.triple for q in ox.parse(path=path, format=ox.RdfFormat.TURTLE))


def has_order_by(query: catalogue.StoredQuery) -> bool:
    return re.search(r"\bORDER\s+BY\b", querying._strip_comments(query.text), re.I) is not None


def assert_answer(query: catalogue.StoredQuery, answer: querying.Answer, expected: Path) -> None:
    """Assert the answer equals the expected file (see the module docstring for the rules)."""
    if answer.form == "ASK":
        assert answer.boolean == (expected.read_text().strip() == "true"), query.name
        return
    if answer.form in ("CONSTRUCT", "DESCRIBE"):
        actual, wanted = graph_of(answer.triples), turtle_graph(expected)
        missing = sorted(str(t) for t in set(wanted) - set(actual))
        extra = sorted(str(t) for t in set(actual) - set(wanted))
        assert isomorphic(actual, wanted), f"missing {missing}; unexpected {extra}"
        return
    header, rows = read_csv(expected)
    assert answer.variables == header, f"{query.name}: columns"
    # Each column is shown in the notation its first expected row uses.
    notation = rows[0] if rows else [""] * len(header)
    actual = [[cell(n, t) for n, t in zip(notation, row, strict=True)] for row in answer.rows]
    wanted = [[normal(c) for c in row] for row in rows]
    # A wildcard takes the actual value, so that what remains compares exactly.
    if has_order_by(query):
        assert len(actual) == len(wanted), f"{query.name}: number of rows"
        for a, w in zip(actual, wanted, strict=True):
            w[:] = [x if matches(e, x) else e for e, x in zip(w, a, strict=True)]
        assert actual == wanted, f"{query.name}: rows (in order)"
    else:
        remaining = list(map(tuple, actual))
        for w in wanted:
            found = next((a for a in remaining if all(map(matches, w, a))), None)
            assert found is not None, f"{query.name}: no row matches {w}; unmatched {remaining}"
            remaining.remove(found)
        assert remaining == [], f"{query.name}: unexpected rows {remaining}"


# --- the catalogue counts itself ----------------------------------------------------------------


def test_there_are_at_least_25_queries_of_every_form():
    assert len(QUERIES) >= 25
    forms = Counter(form_of(q) for q in QUERIES)
    assert set(forms) == {"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"}, forms


@pytest.mark.parametrize("query", QUERIES, ids=NAMES)
def test_every_query_has_a_complete_header(query):
    assert catalogue.QUERY_NAME.match(query.name), f"{query.name}: not kebab-case"
    assert query.missing_fields() == [], f"{query.name}: header lacks {query.missing_fields()}"
    assert re.search(r"[\u4e00-\u9fff]", query.header["question-zh"]), "question-zh in Chinese"
    body = querying._strip_comments(query.text)
    for parameter in query.parameters:
        parameter.term()  # the default is a valid value of the declared type
        assert re.search(rf"[?$]{parameter.name}\b", body), f"?{parameter.name} is not used"
    if query.parameters:
        querying.where_clause_start(query.text)  # there is a WHERE clause to bind them in


def test_every_query_has_an_expected_answer_and_every_answer_a_query():
    expected = {p.name for p in EXPECTED.iterdir() if p.suffix in (".csv", ".ttl", ".ask")}
    wanted = {q.name + EXTENSION[form_of(q)] for q in QUERIES}
    assert sorted(wanted - expected) == [], "queries without an expected answer"
    assert sorted(expected - wanted) == [], "expected answers without a query (or wrong form)"
    assert {p.name for p in EXPECTED.iterdir()} == expected, "stray files in tests/expected/"


def test_only_federated_queries_are_left_to_another_test_file():
    from test_wikidata import FEDERATED  # answered there from a Wikidata-shaped fixture

    federated = [q.name for q in QUERIES if q not in LOCAL]
    assert all(name.startswith("federated-") for name in federated), federated
    assert federated == [q.name for q in FEDERATED]
    assert len(LOCAL) >= 25


@pytest.mark.parametrize("query", LOCAL, ids=LOCAL_NAMES)
def test_stored_query_gives_its_expected_answer(query, store):
    answer = querying.run(query, store=store)
    assert_answer(query, answer, EXPECTED / (query.name + EXTENSION[answer.form]))


# --- small worlds: fixtures with their own answers ----------------------------------------------

FIXTURE_CASES = sorted(p for p in FIXTURES.glob("*.ttl") if ".answer." not in p.name)


def fixture_answer(path: Path) -> Path:
    found = sorted(path.parent.glob(path.stem + ".answer.*"))
    assert len(found) == 1, f"{path.name}: needs exactly one {path.stem}.answer.<csv|ask|ttl>"
    return found[0]


def test_fixtures_are_named_for_a_query_and_have_an_answer():
    assert FIXTURE_CASES, "no query fixtures"
    for path in FIXTURE_CASES:
        name, sep, case = path.stem.partition("--")
        assert sep and case, f"{path.name}: name it <query-name>--<case>.ttl"
        assert name in NAMES, f"{path.name}: no query {name}"
        fixture_answer(path)
    for answer in FIXTURES.glob("*.answer.*"):
        assert (FIXTURES / (answer.name.split(".answer.")[0] + ".ttl")).exists(), answer.name


def test_every_ask_query_is_tested_both_ways():
    for query in QUERIES:
        if form_of(query) != "ASK":
            continue
        real = (EXPECTED / f"{query.name}.ask").read_text().strip()
        cases = [p for p in FIXTURE_CASES if p.stem.split("--")[0] == query.name]
        other = {fixture_answer(p).read_text().strip() for p in cases}
        assert other - {real}, f"{query.name}: no fixture answers the opposite of {real}"


def run_on(engine: str, query, files, values=None) -> querying.Answer:
    """Answer a query on a small world of ``files`` with one of the embedded engines."""
    if engine == "rdflib":
        return querying.run(query, values, engine="rdflib", dataset=load_rdflib_dataset(files))
    return querying.run(query, values, store=load_store(files))


@pytest.mark.parametrize("engine", querying.ENGINES)
@pytest.mark.parametrize("path", FIXTURE_CASES, ids=[p.stem for p in FIXTURE_CASES])
def test_query_on_a_fixture_gives_the_fixture_answer(path, engine):
    query = catalogue.stored_query(path.stem.split("--")[0])
    answer = run_on(engine, query, [*ontology_files(), path])
    assert_answer(query, answer, fixture_answer(path))


# --- questions checked against the graph without SPARQL ----------------------------------------

TKG = "https://w3id.org/treatykg/ontology#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
PRECISION = {XSD + "date": "day", XSD + "gYearMonth": "month", XSD + "gYear": "year"}


def test_the_timeline_shows_every_dated_moment_from_1945_to_1980_with_its_precision(store):
    moments = {TKG + "date": "date", TKG + "startDate": "start", TKG + "endDate": "end"}
    holding = ox.NamedNode(TKG + "OfficeHolding")
    holdings = {q.subject for q in store.quads_for_pattern(None, RDF_TYPE, holding)}
    # PRECISION[...] raises for a date whose datatype does not state its precision.
    dated = {
        (q.object, PRECISION[q.object.datatype.value], moments[q.predicate.value], q.subject)
        for q in store
        if q.predicate.value in moments and q.subject not in holdings
    }
    want = {row for row in dated if 1945 <= int(row[0].value[:4]) <= 1980}
    assert len(want) < len(dated)  # the window leaves some out (World War II's start, ...)
    rows = querying.run(catalogue.stored_query("timeline"), store=store).rows
    got = [(r[0], r[1].value, r[2].value, r[3]) for r in rows]
    assert len(got) == len(set(got)) and set(got) == want
    assert [r[0].value for r in got] == sorted(r[0].value for r in got)  # in time order
    assert {r[1] for r in got} == {"day", "month", "year"}  # every precision occurs


def test_where_sources_disagree_shows_the_lapse_date_with_each_source_and_rank(store):
    expiry = ox.NamedNode("https://w3id.org/treatykg/id/event/treaty-1950-expiry")
    answer = querying.run(catalogue.stored_query("where-sources-disagree"), store=store)
    rows = [dict(zip(answer.variables, row, strict=True)) for row in answer.rows]
    lapse = [r for r in rows if r["subject"] == expiry and r["property"].value == TKG + "date"]
    assert len({r["value"] for r in lapse}) >= 2  # a disagreement
    assert all(r["source"] is not None and r["rank"].value for r in lapse)
    assert all(r["reason"] is not None and r["reason"].value for r in rows)  # each says why
    for r in lapse:
        assert r["precision"].value == PRECISION[r["value"].datatype.value]
    # The preferred value is the one the graph states directly.
    preferred = {r["value"] for r in lapse if r["rank"].value == "Preferred"}
    stated = {q.object for q in store.quads_for_pattern(expiry, ox.NamedNode(TKG + "date"), None)}
    assert preferred == stated == {ox.Literal("1980-04-11", datatype=ox.NamedNode(XSD + "date"))}


@pytest.mark.parametrize("engine", querying.ENGINES)
@pytest.mark.parametrize(
    ("signed", "in_force"),
    [
        ("1950-02-14", "1950-04-11"),  # the treaty: 56 days
        ("1945-08-14", "1945-08-24"),
        ("1999-12-31", "2000-03-01"),  # 2000 is a leap year
        ("1899-12-31", "1900-03-01"),  # 1900 is not
        ("1979-02-28", "1980-02-29"),
        ("1950-04-11", "1950-02-14"),  # backwards: negative
        ("1950-02-14", "1950-02-14"),
    ],
)
def test_days_between_are_counted_in_sparql_as_python_counts_them(
    signed, in_force, engine, tmp_path
):
    world = tmp_path / "treaty.ttl"
    world.write_text(
        f"@prefix tkg: <{TKG}> . @prefix xsd: <{XSD}> .\n"
        "<https://w3id.org/treatykg/id/treaty/treaty-1950>"
        f' tkg:dateSigned "{signed}"^^xsd:date ;'
        f' tkg:dateEnteredIntoForce "{in_force}"^^xsd:date .\n',
        encoding="utf-8",
    )
    query = catalogue.stored_query("days-between-signing-and-entry-into-force")
    (row,) = run_on(engine, query, [world]).rows
    days = (dt.date.fromisoformat(in_force) - dt.date.fromisoformat(signed)).days
    assert row[2] == ox.Literal(str(days), datatype=ox.NamedNode(XSD + "integer"))


# --- statistics agree with counts made without SPARQL ------------------------------------------


def test_triples_per_source_agrees_with_a_count_of_the_loaded_quads(store):
    counts = Counter(q.graph_name.value for q in store)
    answer = querying.run(catalogue.stored_query("triples-per-source"), store=store)
    assert {row[0].value: int(row[2].value) for row in answer.rows} == dict(counts)


def test_triples_per_class_agrees_with_a_count_of_the_loaded_quads(store):
    triples = {q.triple for q in store}
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    classes: dict = {}
    for t in triples:
        if t.predicate == rdf_type:
            classes.setdefault(t.object, set()).add(t.subject)
    by_subject = Counter(t.subject for t in triples)
    answer = querying.run(catalogue.stored_query("triples-per-class"), store=store)
    got = {row[0]: (int(row[1].value), int(row[2].value)) for row in answer.rows}
    want = {c: (len(s), sum(by_subject[x] for x in s)) for c, s in classes.items()}
    assert got == want


# --- parameters are terms, not text ------------------------------------------------------------

MALICIOUS = '"x" } ; DROP ALL ; #'


def test_a_malicious_string_is_one_literal_and_changes_nothing(store):
    query = catalogue.stored_query("entities-missing-a-label")
    before = len(store)
    # As a language tag it is refused, naming the parameter and the type expected.
    with pytest.raises(InputError, match=r"parameter 'lang' expects a language tag"):
        querying.run(query, {"lang": MALICIOUS}, store=store)
    # As a string it stays one literal: the VALUES block holds exactly that term.
    text = querying.bind_parameters(query.text, {"lang": ox.Literal(MALICIOUS)})
    assert 'VALUES (?lang) { ("\\"x\\" } ; DROP ALL ; #") }' in text
    assert querying.check_syntax(text, "bound") == "SELECT"
    assert len(store) == before


@pytest.mark.parametrize("value", [MALICIOUS, "<x> } ; DROP ALL", "https://a b", "no-scheme"])
def test_a_malicious_or_bad_iri_is_refused_naming_the_parameter(value, store):
    query = catalogue.stored_query("who-signed-the-treaty")
    with pytest.raises(InputError, match=r"^parameter 'treaty' expects an IRI") as info:
        querying.run(query, {"treaty": value}, store=store)
    assert repr(value) in str(info.value)


def test_a_string_parameter_holding_query_text_finds_nothing_and_drops_nothing(tmp_path, store):
    own = tmp_path / "by-label.rq"
    own.write_text(
        "# title: By label\n# param: name (string) = x — a label\n"
        "SELECT ?s WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l "
        "FILTER(STR(?l) = ?name) }\n",
        encoding="utf-8",
    )
    before = len(store)
    answer = querying.run(catalogue.read_query_file(own), {"name": MALICIOUS}, store=store)
    assert answer.rows == [] and len(store) == before


@pytest.mark.parametrize(
    ("kind", "raw", "term"),
    [
        (
            "IRI",
            "person:zhou-enlai",
            ox.NamedNode("https://w3id.org/treatykg/id/person/zhou-enlai"),
        ),
        ("IRI", "<https://example.org/a>", ox.NamedNode("https://example.org/a")),
        ("IRI", "tkg:Person", ox.NamedNode("https://w3id.org/treatykg/ontology#Person")),
        ("integer", "6", ox.Literal("6", datatype=ox.NamedNode(XSD + "integer"))),
        ("date", "1950-02-14", ox.Literal("1950-02-14", datatype=ox.NamedNode(XSD + "date"))),
        ("lang", "zh-Hans", ox.Literal("zh-Hans")),
        ("langString", "日本@zh-Hans", ox.Literal("日本", language="zh-hans")),
        ("string", "a } b", ox.Literal("a } b")),
    ],
)
def test_parameter_values_become_terms_of_their_type(kind, raw, term):
    assert catalogue.parameter_term("p", kind, raw) == term


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("integer", "six", "an integer"),
        ("integer", "6.5", "an integer"),
        ("date", "1950-02-30", "a date as YYYY-MM-DD"),
        ("date", "14/02/1950", "a date as YYYY-MM-DD"),
        ("lang", "zh Hans", "a language tag"),
        ("langString", "no tag", "a text with a language tag"),
        ("IRI", "unknownprefix:x y", "an IRI"),
    ],
)
def test_an_ill_typed_value_names_the_parameter_and_the_type(kind, raw, expected):
    with pytest.raises(InputError) as info:
        catalogue.parameter_term("p", kind, raw)
    assert str(info.value).startswith(f"parameter 'p' expects {expected}")


def test_an_unknown_parameter_names_the_known_ones():
    query = catalogue.stored_query("timeline")
    with pytest.raises(InputError, match=r"no parameter 'form' \(its parameters: from, to, lang\)"):
        query.bindings({"form": "1950"})


TRICKY = [
    MALICIOUS,
    '"} ; DROP ALL',
    "> . ?s ?p ?o",
    r"a\" } # \u0022 \\",
    r"\U0000005C \u005c \1234abcd \U",
    "line one\nline two\r\ttab",
    """''' \"\"\" } WHERE { ?s ?p ?o }""",
    "日本 (にほん) — Япония",
]


@pytest.mark.parametrize("engine", querying.ENGINES)
@pytest.mark.parametrize("value", TRICKY)
def test_a_string_parameter_comes_back_as_exactly_one_term(value, engine, tmp_path):
    own = tmp_path / "echo.rq"
    own.write_text("# title: Echo\n# param: x (string) = a — any text\nSELECT ?x WHERE { }\n")
    answer = run_on(engine, catalogue.read_query_file(own), [], {"x": value})
    assert answer.variables == ["x"] and answer.rows == [(ox.Literal(value),)]


def test_a_parameter_changes_the_answer(store):
    timeline = catalogue.stored_query("timeline")
    full = querying.run(timeline, store=store).rows
    year_1950 = querying.run(timeline, {"from": "1950", "to": "1950"}, store=store).rows
    assert year_1950 and len(year_1950) < len(full)
    assert all(row[0].value.startswith("1950") for row in year_1950)


# --- binding: where the VALUES block goes -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        ("SELECT * WHERE { ?s ?p ?o }", " ?s ?p ?o }"),
        ("ASK { ?s ?p ?o }", " ?s ?p ?o }"),
        ('# WHERE { in a comment\nSELECT * { ?s ?p "WHERE {" }', ' ?s ?p "WHERE {" }'),
        ("PREFIX w: <http://x/WHERE>\nSELECT * WHERE { ?s w:p ?o }", " ?s w:p ?o }"),
        ('CONSTRUCT { ?s ?p "}" } WHERE { ?s ?p ?o }', " ?s ?p ?o }"),
        ("DESCRIBE ?e WHERE { }", " }"),
        ("SELECT ?where WHERE { ?where ?p ?o FILTER(?o < 3) }", " ?where ?p ?o FILTER(?o < 3) }"),
        (
            "SELECT * WHERE { { SELECT * WHERE { ?s ?p ?o } } }",
            " { SELECT * WHERE { ?s ?p ?o } } }",
        ),
    ],
)
def test_the_values_block_opens_the_where_clause(text, rest):
    assert text[querying.where_clause_start(text) :] == rest


def test_the_short_construct_form_cannot_take_parameters():
    with pytest.raises(InputError, match="CONSTRUCT template"):
        querying.where_clause_start("CONSTRUCT WHERE { ?s ?p ?o }")


def test_binding_keeps_line_numbers():
    text = "SELECT *\nWHERE {\n  ?s ?p ?o\n}\n"
    bound = querying.bind_parameters(text, {"s": ox.NamedNode("https://example.org/a")})
    assert bound.count("\n") == text.count("\n")


# --- another engine gives the same rows (an endpoint: see the module docstring) -----------------


INTEGERS = {XSD + n for n in ("positiveInteger", "nonNegativeInteger", "negativeInteger",
                              "nonPositiveInteger", "long", "int", "short", "byte")}  # fmt: skip


def comparable(term):
    # Oxigraph stores numbers by value: it reports integers of derived types (xsd:positiveInteger)
    # as xsd:integer and decimals in canonical form ("39.9042" for "39.904200"); rdflib keeps the
    # lexical form and the datatype. Same value either way.
    if isinstance(term, ox.Literal) and term.datatype.value in INTEGERS:
        return ox.Literal(term.value, datatype=ox.NamedNode(XSD + "integer"))
    if isinstance(term, ox.Literal) and term.datatype.value == XSD + "decimal":
        return ox.Literal(format(Decimal(term.value).normalize(), "f"), datatype=term.datatype)
    return term


def same_answers(a: querying.Answer, b: querying.Answer, *, ordered: bool = False) -> bool:
    """Whether two engines gave the same answer: the same rows, in the same order if ``ordered``."""
    if a.form != b.form:
        return False
    if a.form == "ASK":
        return a.boolean == b.boolean
    if a.form in ("CONSTRUCT", "DESCRIBE"):
        return isomorphic(graph_of(a.triples), graph_of(b.triples))
    rows_a = [tuple(map(comparable, row)) for row in a.rows]
    rows_b = [tuple(map(comparable, row)) for row in b.rows]
    if not ordered:
        rows_a, rows_b = Counter(rows_a), Counter(rows_b)
    return a.variables == b.variables and rows_a == rows_b


# rdflib 7.6 is the other embedded engine (`--engine rdflib`). The stored queries are written so
# that both engines agree: ORDER BY over COALESCE(STR(...), "") where a value may be unbound (rdflib
# cannot sort unbound next to bound values), and no GROUP_CONCAT (see queries/README.md). A query
# with ORDER BY sorts its rows fully, so that both give them in the same order.


@pytest.fixture(scope="session")
def rdflib_dataset():
    return querying.open_rdflib_dataset()


@pytest.fixture(scope="session")
def rdflib_answers() -> dict:
    """rdflib's answers on the session's dataset, by bound query text and form."""
    return {}


@pytest.fixture
def rdflib_asked(rdflib_dataset, rdflib_answers, monkeypatch) -> list[str]:
    """The query texts rdflib is asked during the test, in order.

    On the session's dataset rdflib answers each text once per session: the comparison below
    and the run-all test after it share the answers (rdflib takes seconds on a few queries).
    """
    asked: list[str] = []
    real = querying.run_on_rdflib

    def run_on_rdflib(dataset, text: str, form: str) -> querying.Answer:
        asked.append(text)
        if dataset is not rdflib_dataset:
            return real(dataset, text, form)
        if (text, form) not in rdflib_answers:
            rdflib_answers[text, form] = real(dataset, text, form)
        return rdflib_answers[text, form]

    monkeypatch.setattr(querying, "run_on_rdflib", run_on_rdflib)
    return asked


def rdflib_text(query: catalogue.StoredQuery) -> str:
    """The query's text as it goes to rdflib, with its default parameters bound."""
    return querying.bind_parameters(query.text, query.bindings({}), expand_unicode_escapes=True)


@pytest.mark.parametrize("query", LOCAL, ids=LOCAL_NAMES)
def test_rdflib_gives_the_same_answer_as_oxigraph(query, store, rdflib_dataset, rdflib_asked):
    embedded = querying.run(query, store=store)
    other = querying.run(query, engine="rdflib", dataset=rdflib_dataset)
    assert rdflib_asked == [rdflib_text(query)]
    assert same_answers(embedded, other, ordered=has_order_by(query)), query.name


def test_run_all_with_rdflib_prints_the_same_as_with_oxigraph(
    rdflib_dataset, rdflib_asked, monkeypatch, capsys
):
    # `treatykg query run-all --engine rdflib`: every local query is answered by rdflib, on one
    # dataset, under the same titles in the same order as with Oxigraph. The answers are compared
    # term by term above (and are the ones kept from there: the same dataset and texts).
    assert main(["query", "run-all", "--format", "json"]) == 0
    oxigraph_out = capsys.readouterr().out
    assert rdflib_asked == []
    opened = []

    def open_rdflib_dataset():
        opened.append(rdflib_dataset)
        return rdflib_dataset

    monkeypatch.setattr(querying, "open_rdflib_dataset", open_rdflib_dataset)
    assert main(["query", "run-all", "--format", "json", "--engine", "rdflib"]) == 0
    rdflib_out = capsys.readouterr().out
    assert len(opened) == 1
    assert rdflib_asked == [rdflib_text(query) for query in LOCAL]
    assert re.findall(r"^## .*$", oxigraph_out, re.M) == re.findall(r"^## .*$", rdflib_out, re.M)


# --- checking a query asks no endpoint ----------------------------------------------------------


@pytest.mark.parametrize("form", ["ASK", "SELECT *", "CONSTRUCT { ?s ?p ?o }", "DESCRIBE ?s"])
def test_checking_a_federated_query_calls_no_endpoint(form):
    calls = []
    with socket.socket() as listener:  # a local endpoint that notes and drops any connection
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.5)

        def watch():
            with contextlib.suppress(TimeoutError):
                connection, _ = listener.accept()
                calls.append(connection.recv(200))
                connection.close()

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/sparql"
        text = f"{form} WHERE {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }}"
        assert querying.check_syntax(text, "q") == form.split()[0]
        watcher.join(timeout=5)
    assert calls == []


def test_a_syntax_error_in_a_federated_ask_is_located_as_written():
    text = "# x\nASK {\n SERVICE <http://127.0.0.1:1/q> { ?s ?p } }\n"
    with pytest.raises(querying.QuerySyntaxError) as federated:
        querying.check_syntax(text, "q")
    plain = text.replace("SERVICE", "GRAPH  ")  # no SERVICE, same positions
    with pytest.raises(querying.QuerySyntaxError) as local:
        querying.check_syntax(plain, "q")
    assert (federated.value.line, federated.value.column) == (local.value.line, local.value.column)
    assert federated.value.line == 3


# The queries that say where a fact comes from also say what kind of source it is.
PROVENANCE_QUERIES = [q.name for q in LOCAL if "?sourceKind" in q.text]


def test_the_provenance_queries_show_the_kind_of_each_source(store):
    assert {"where-sources-disagree", "sources-of-a-statement", "how-the-treaty-ended"} <= set(
        PROVENANCE_QUERIES
    )
    kind = TKG + "sourceKind"
    for name in PROVENANCE_QUERIES:
        answer = querying.run(catalogue.stored_query(name), store=store)
        assert answer.rows, name
        for row in map(lambda r: dict(zip(answer.variables, r, strict=True)), answer.rows):
            quads = store.quads_for_pattern(row["source"], ox.NamedNode(kind), None)
            stated = [q.object.value for q in quads]
            assert len(stated) == 1, f"{name}: {row['source']} has no single kind"
            assert stated[0].endswith("source-kind-" + row["sourceKind"].value), (name, row)


def test_how_the_1950_treaty_ended_shows_the_notice_before_the_lapse(store):
    """The default answer is the 1950 treaty's: the notice of 3 April 1979, then the lapse of
    11 April 1980 as preferred, with the 1979 dates deprecated and pointing at the notice."""
    answer = querying.run(catalogue.stored_query("how-the-treaty-ended"), store=store)
    rows = [dict(zip(answer.variables, r, strict=True)) for r in answer.rows]
    assert rows[0]["eventType"].value == "NoticeOfNonRenewal"
    assert rows[0]["date"].value == "1979-04-03" and rows[0]["rank"].value == ""
    lapse = {r["date"].value: r["rank"].value for r in rows if r["eventType"].value == "Expiry"}
    assert lapse["1980-04-11"] in {"Preferred", "Normal"}
    assert lapse["1979-02"] == lapse["1979-02-16"] == "Deprecated"
    see_also = "http://www.w3.org/2000/01/rdf-schema#seeAlso"
    for claim in ("treaty-1950-expiry-date-zhwiki", "treaty-1950-expiry-date-enwiki"):
        subject = ox.NamedNode("https://w3id.org/treatykg/id/claim/" + claim)
        quads = store.quads_for_pattern(subject, ox.NamedNode(see_also), None)
        notice = "https://w3id.org/treatykg/id/event/treaty-1950-notice-of-non-renewal"
        assert {q.object.value for q in quads} == {notice}
