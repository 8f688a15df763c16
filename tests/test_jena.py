"""Apache Jena gives the same answers: the shapes' verdicts and every stored query's rows.

Users load the graph into the store they run, often Jena (TDB2, Fuseki), and validate it with the
SHACL engine they trust. These tests run Jena 4.5 (Debian's ``libapache-jena-java``; see
tests/jena.py) in one JVM, in the background while the project's own side is computed:

- SHACL: the project's graph, and every shape fixture (tests/fixtures/shapes, each with the
  ontology, as ``treatykg validate FILE`` checks it), with Jena's validator on shapes/*.ttl. Each
  verdict, and each result's severity, focus node, constraint component, source shape and value,
  equals what ``treatykg validate --format json`` reports (the reports tests/test_shapes.py makes,
  as JSON, with the default engine); a bad fixture fails on Jena for its stated reason too.
- SPARQL: ``treatykg export`` as TriG loaded by ``tdb2.tdbloader``, every stored query (but the
  federated ones, which ask Wikidata) with its defaults and with the other values of
  :data:`OTHER_PARAMETERS`, on the union of the named graphs as default graph (TDB2's
  ``unionDefaultGraph``, as Fuseki serves it). The rows equal the embedded engine's (Oxigraph),
  compared as multisets after one normalisation of terms for both engines (:func:`normal`).

The tests skip (saying why) where Java or Jena is missing; with ``TREATYKG_REQUIRE_JENA=1`` (set by
.ci/run, which installs them) they fail instead, so CI cannot pass without running them.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from collections import Counter, defaultdict
from decimal import Decimal
from functools import cache
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import RDF, Graph
from rdflib.compare import isomorphic

import jena
from reports import fast_report
from test_queries import has_order_by
from test_shapes import (
    BAD_FIXTURES,
    VALID_FIXTURE,
    fixture_header,
    real_report,
    shapes_graph,
)
from test_shapes import SH as SHACL
from treatykg import catalogue, loading, querying, rdflib_graphs
from treatykg.cli import main

pytestmark = pytest.mark.jena

FIXTURES = [*BAD_FIXTURES, VALID_FIXTURE]
LOCAL = [q for q in catalogue.stored_queries() if not querying.is_federated(q.text)]
XSD = "http://www.w3.org/2001/XMLSchema#"
SH = "http://www.w3.org/ns/shacl#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

# A second set of values for every stored query that has parameters: other treaties, languages,
# classes and entities than the defaults, chosen so that most answers are not empty.
OTHER_PARAMETERS: dict[str, dict[str, str]] = {
    "article-text-in-a-language": {"number": "2", "lang": "en"},
    "articles-of-the-treaty": {"lang": "zh-Hans"},
    "articles-on-a-topic": {"topic": "concept:japan", "lang": "en"},
    "articles-that-mention-japan": {"entity": "state:japan", "lang": "en"},
    "compare-the-treaty-with-the-1945-treaty": {
        "treaty": "treaty:treaty-1945",
        "other": "treaty:treaty-1950",
    },
    "days-between-signing-and-entry-into-force": {"treaty": "treaty:treaty-1945"},
    "describe-an-entity": {"entity": "treaty:treaty-1950"},
    "did-anyone-sign-both-treaties": {
        "treaty": "treaty:changchun-railway-agreement-1950",
        "other": "treaty:treaty-1950",
    },
    "do-sources-disagree-on-when-the-treaty-ended": {"treaty": "treaty:treaty-1945"},
    "does-every-signer-act-for-a-party": {"treaty": "treaty:treaty-1945"},
    "entities-missing-a-label": {"lang": "zh-Hans", "class": "tkg:Place"},
    "entities-without-a-wikidata-item": {"class": "tkg:Organization"},
    "how-the-treaty-ended": {"treaty": "treaty:treaty-1945", "lang": "zh-Hans"},
    "images-of-the-treaty": {"lang": "zh-Hans"},
    "labels-of-an-entity": {"entity": "person:zhou-enlai"},
    "offices-held-by-the-signers": {"treaty": "treaty:treaty-1945", "lang": "zh-Hans"},
    "parties-to-the-treaty": {"treaty": "treaty:treaty-1945", "lang": "ru"},
    "places-on-the-map": {"lang": "zh-Hans"},
    "projects-that-came-out-of-the-treaty": {"lang": "zh-Hans"},
    "regions-of-the-supplementary-agreement": {"lang": "ru"},
    "sources-of-a-statement": {"subject": "event:treaty-1950-expiry", "property": "tkg:date"},
    "timeline": {"from": "1950", "to": "1953", "lang": "zh-Hans"},
    "what-else-was-signed-the-same-day": {
        "treaty": "treaty:loan-agreement-1950",
        "lang": "zh-Hans",
    },
    "what-the-notes-settled": {"lang": "zh-Hant"},
    "what-the-same-day-agreements-provided": {"lang": "zh-Hans"},
    "what-the-supplementary-agreement-forbids": {"lang": "zh-Hans"},
    "what-the-treaty-was-drafted-from": {"lang": "zh-Hans"},
    "when-the-treaty-entered-into-force": {"treaty": "treaty:treaty-1945", "lang": "zh-Hans"},
    "where-and-when-the-treaty-was-signed": {"treaty": "treaty:treaty-1945", "lang": "ru"},
    "where-sources-disagree": {"lang": "zh-Hans"},
    "who-negotiated-the-treaty": {"lang": "zh-Hans"},
    "who-signed-the-treaty": {"treaty": "treaty:treaty-1945", "lang": "zh-Hans"},
    "who-was-present-at-the-signing": {"treaty": "treaty:treaty-1945", "lang": "zh-Hans"},
}

CASES = [(q, "defaults", {}) for q in LOCAL] + [
    (q, "other", OTHER_PARAMETERS[q.name]) for q in LOCAL if q.name in OTHER_PARAMETERS
]
CASE_IDS = [f"{q.name}--{case}" for q, case, _ in CASES]


# --- running Jena -------------------------------------------------------------------------------


class JenaRun:
    """The batch's output files, available once the JVM has finished."""

    def __init__(self, batch: jena.Batch) -> None:
        self.batch = batch
        self.done = False

    def output(self, path: Path) -> Path:
        if not self.done:
            self.batch.wait()
            self.done = True
        error = path.with_name(path.name + ".error")
        if error.exists():
            pytest.fail(f"Jena failed on {path.name}: {error.read_text(encoding='utf-8')}")
        return path


@pytest.fixture(scope="module")
def jena_run(tmp_path_factory):
    reason = jena.missing()
    if reason:
        if os.environ.get("TREATYKG_REQUIRE_JENA"):
            pytest.fail(f"TREATYKG_REQUIRE_JENA is set but Jena cannot run: {reason}")
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("jena")
    export = folder / "treatykg.trig"
    union = folder / "treatykg.ttl"
    with contextlib.redirect_stderr(io.StringIO()):
        assert main(["export", "-o", str(export)]) == 0
        assert main(["export", "-o", str(union)]) == 0
    store = folder / "tdb2"
    batch = jena.Batch(folder)
    batch.add("load", store, export)
    batch.add("shapes", *loading.shape_files())
    batch.add("validate", folder / "graph.nt", *(path for path, _ in loading.project_files()))
    batch.add("validate", folder / "export.nt", union)
    for fixture in FIXTURES:
        batch.add("validate", folder / f"{fixture.stem}.nt", *loading.ontology_files(), fixture)
    for (query, _, values), case_id in zip(CASES, CASE_IDS, strict=True):
        text = querying.bind_parameters(query.text, query.bindings(values))
        (folder / f"{case_id}.rq").write_text(text, encoding="utf-8")
        batch.add("query", folder / f"{case_id}.out", store, folder / f"{case_id}.rq")
    batch.start(jena.classpath(folder / "overlay"))
    try:
        yield JenaRun(batch)
    finally:
        batch.stop()


# --- SHACL --------------------------------------------------------------------------------------


def treatykg_report(fixture: Path | None) -> dict:
    """What ``treatykg validate --format json [FIXTURE]`` reports (None: the project's graph).

    The reports tests/test_shapes.py checks (cached in tests/reports.py): each is made once.
    """
    report = real_report()[0] if fixture is None else fast_report(fixture)
    return json.loads(report.to_json())


def _node(term) -> str:
    """A report's node as the JSON report writes it: an IRI, a literal's lexical form, ``[]``."""
    return "[]" if isinstance(term, ox.BlankNode) else term.value


def jena_results(path: Path) -> list[dict]:
    """The results of a Jena validation report (N-Triples), as dicts of the JSON report's keys."""
    by_subject: dict = defaultdict(dict)
    messages: dict = defaultdict(list)
    for triple in ox.parse(path=path, format=ox.RdfFormat.N_TRIPLES):
        by_subject[triple.subject][triple.predicate.value] = triple.object
        if triple.predicate.value == SH + "resultMessage":
            messages[triple.subject].append(triple.object.value)
    results = []
    for subject, properties in by_subject.items():
        if properties.get(RDF_TYPE) != ox.NamedNode(SH + "ValidationResult"):
            continue

        def get(name: str, properties=properties) -> str | None:
            term = properties.get(SH + name)
            return None if term is None else _node(term)

        results.append(
            {
                "severity": get("resultSeverity").removeprefix(SH),
                "focus_node": get("focusNode"),
                "source_constraint_component": get("sourceConstraintComponent"),
                "source_shape": get("sourceShape"),
                "source_constraint": get("sourceConstraint"),
                "value": get("value"),
                "messages": messages[subject],
            }
        )
    return results


KEYS = ("severity", "focus_node", "source_constraint_component", "source_shape", "value")


def result_keys(results: list[dict]) -> Counter:
    return Counter(tuple(r[k] for k in KEYS) for r in results)


def assert_same_verdict(ours: dict, theirs: list[dict], what: str) -> None:
    jena_conforms = not any(r["severity"] == "Violation" for r in theirs)
    mine, other = result_keys(ours["results"]), result_keys(theirs)
    assert (ours["conforms"], mine) == (jena_conforms, other), (
        f"{what}: treatykg says conforms={ours['conforms']}, Jena {jena_conforms}\n"
        f"only treatykg: {sorted((mine - other).elements())}\n"
        f"only Jena: {sorted((other - mine).elements())}"
    )


def test_jena_validates_the_graph_as_treatykg_does(jena_run):
    ours = treatykg_report(None)
    theirs = jena_results(jena_run.output(jena_run.batch.folder / "graph.nt"))
    assert_same_verdict(ours, theirs, "the project's graph")
    assert ours["conforms"]


def test_jena_validates_the_exported_graph_as_treatykg_validates_the_files(jena_run):
    """What a user loads elsewhere (``treatykg export -o treatykg.ttl``) conforms there too."""
    ours = treatykg_report(None)
    theirs = jena_results(jena_run.output(jena_run.batch.folder / "export.nt"))
    assert_same_verdict(ours, theirs, "the exported graph")


@pytest.mark.parametrize("fixture", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_jena_validates_each_shape_fixture_as_treatykg_does(fixture, jena_run):
    ours = treatykg_report(fixture)
    theirs = jena_results(jena_run.output(jena_run.batch.folder / f"{fixture.stem}.nt"))
    assert_same_verdict(ours, theirs, fixture.name)
    if fixture == VALID_FIXTURE:
        assert theirs == []
        return
    # The fixture fails on Jena for the reason its header states.
    header = fixture_header(fixture)
    component = str(header.get("component", ""))
    reasons = [
        r
        for r in theirs
        if r["focus_node"] == str(header["focus"])
        and comes_from(r, str(header["constraint"]))
        and component in ("", r["source_constraint_component"])
    ]
    assert reasons, f"{fixture.name}: Jena gives no result for the stated reason: {theirs}"
    for other in header["not"]:
        assert not any(comes_from(r, str(other)) for r in theirs), f"{fixture.name}: {other} fired"


@cache
def sparql_constraint_messages() -> dict[str, list[re.Pattern]]:
    """Each SPARQL-based constraint's messages as patterns (``{?value}`` matches anything)."""
    graph = shapes_graph()
    patterns: dict[str, list[re.Pattern]] = {}
    for constraint in graph.subjects(RDF.type, SHACL.SPARQLConstraint):
        patterns[str(constraint)] = [
            re.compile(".*".join(map(re.escape, re.split(r"\{[$?]\w+\}", str(message)))), re.S)
            for message in graph.objects(constraint, SHACL.message)
        ]
    return patterns


def comes_from(result: dict, constraint: str) -> bool:
    """Whether a Jena result comes from a shape, or from a SPARQL-based constraint.

    Jena 4.5 names the node shape of a SPARQL-based constraint (``sh:sourceShape``) but not the
    constraint itself (no ``sh:sourceConstraint``); its message tells which one it is.
    """
    if constraint in (result["source_shape"], result["source_constraint"]):
        return True
    return result["source_constraint_component"] == SH + "SPARQLConstraintComponent" and any(
        pattern.fullmatch(message)
        for pattern in sparql_constraint_messages().get(constraint, [])
        for message in result["messages"]
    )


def test_every_fixture_and_query_goes_to_jena():
    assert len(FIXTURES) >= 100 and VALID_FIXTURE in FIXTURES
    assert len(LOCAL) >= 25
    with_parameters = {q.name for q in LOCAL if q.parameters}
    assert set(OTHER_PARAMETERS) == with_parameters, "a second set of values for each"
    for query in LOCAL:
        if query.name in OTHER_PARAMETERS:
            other = query.bindings(OTHER_PARAMETERS[query.name])
            assert other != query.bindings(), f"{query.name}: the other values are the defaults"


# --- SPARQL -------------------------------------------------------------------------------------


def test_no_stored_query_uses_group_concat():
    """GROUP_CONCAT joins its values in no defined order: a list is one row per value."""
    for query in catalogue.stored_queries():
        text = querying._strip_comments(query.text)
        assert not re.search(r"\bGROUP_CONCAT\b", text, re.I), query.name


def test_sparql_constraints_use_only_what_shacl_pre_binding_allows():
    """SHACL 1.0 (5.3.1): no VALUES, MINUS or SERVICE where $this is pre-bound."""
    graph = shapes_graph()
    selects = [str(s) for s in graph.objects(None, SHACL.select)]
    assert selects
    for text in selects:
        assert not re.search(r"\b(VALUES|MINUS|SERVICE)\b", text, re.I), text


def test_every_select_query_without_aggregates_is_distinct():
    """A triple stated by two sources is in two named graphs. Oxigraph's union default graph
    gives it twice, Jena's (and the RDF merge SPARQL describes) once; DISTINCT makes the rows the
    same on both. A query that counts says per graph what it counts (triples-per-source)."""
    for query in LOCAL:
        text = querying._strip_comments(query.text)
        if querying.check_syntax(query.text, query.name) != "SELECT":
            continue
        if re.search(r"\bGROUP\s+BY\b|\bCOUNT\s*\(", text, re.I):
            continue
        assert re.search(r"\bSELECT\s+DISTINCT\b", text, re.I), f"{query.name}: SELECT DISTINCT"


INTEGERS = {XSD + n for n in ("integer", "positiveInteger", "nonNegativeInteger",
    "negativeInteger", "nonPositiveInteger", "long", "int", "short", "byte", "unsignedLong",
    "unsignedInt", "unsignedShort", "unsignedByte")}  # fmt: skip


def normal(term):
    """One term as both engines' answers are compared: RDF term equality, with numbers by value.

    Language tags compare without regard to case (Oxigraph and the export write them in lower
    case, RDF says case does not matter); an integer of a derived type (``xsd:positiveInteger``)
    is its value as ``xsd:integer`` and a decimal its canonical form (Oxigraph stores numbers by
    value); a blank node is any blank node.
    """
    if term is None:
        return None
    if isinstance(term, ox.BlankNode):
        return "_:"
    if isinstance(term, ox.Literal):
        if term.language:
            return ox.Literal(term.value, language=term.language.lower())
        datatype = term.datatype.value
        if datatype in INTEGERS:
            return ox.Literal(str(int(term.value)), datatype=ox.NamedNode(XSD + "integer"))
        if datatype == XSD + "decimal":
            return ox.Literal(format(Decimal(term.value).normalize(), "f"), datatype=term.datatype)
    return term


def rdflib_graph(triples) -> Graph:
    graph = Graph()
    for t in triples:
        graph.add(
            tuple(
                rdflib_graphs.to_rdflib_term(normal(x) if isinstance(x, ox.Literal) else x)
                for x in (t.subject, t.predicate, t.object)
            )
        )
    return graph


@pytest.fixture(scope="module")
def store() -> ox.Store:
    return loading.load_store()


@pytest.mark.parametrize(("query", "case", "values"), CASES, ids=CASE_IDS)
def test_jena_gives_the_same_rows_as_the_embedded_engine(query, case, values, store, jena_run):
    ours = querying.run(query, values, store=store)
    out = jena_run.output(jena_run.batch.folder / f"{query.name}--{case}.out")
    if ours.form in ("CONSTRUCT", "DESCRIBE"):
        theirs = list(ox.parse(path=out, format=ox.RdfFormat.N_TRIPLES))
        assert isomorphic(rdflib_graph(ours.triples), rdflib_graph(theirs)), (
            f"{query.name}: Jena's graph differs: {len(ours.triples)} and {len(theirs)} triples"
        )
        return
    result = ox.parse_query_results(path=out, format=ox.QueryResultsFormat.JSON)
    if ours.form == "ASK":
        assert isinstance(result, ox.QueryBoolean)
        assert bool(result) == ours.boolean
        return
    variables = [v.value for v in result.variables]
    theirs = [tuple(normal(s[v]) for v in variables) for s in result]
    mine = [tuple(normal(t) for t in row) for row in ours.rows]
    assert variables == ours.variables
    only_ours, only_theirs = Counter(mine) - Counter(theirs), Counter(theirs) - Counter(mine)
    assert not only_ours and not only_theirs, (
        f"{query.name} ({case}): only Oxigraph: {sorted(map(str, only_ours.elements()))}; "
        f"only Jena: {sorted(map(str, only_theirs.elements()))}"
    )
    if has_order_by(query):  # the stored queries sort their rows fully
        assert mine == theirs, f"{query.name} ({case}): the same rows in another order"
