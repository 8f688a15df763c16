"""How the fast engine runs its queries: focus nodes found once, the store left as it was, and
the NOT EXISTS patterns it keeps or rewrites. (That its reports equal pyshacl's is
tests/test_engines.py.)"""

from __future__ import annotations

import time
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph

from treatykg import shacl_sparql
from treatykg.shacl_sparql import Compiler, LiteralNotes, rewrite_exists
from treatykg.validation import validate

PREFIXES = """\
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex: <https://example.org/> .
"""

# A node shape with three property shapes compiled to queries: its focus nodes are found once.
SHAPES = (
    PREFIXES
    + """
ex:ThingShape a sh:NodeShape ;
    sh:targetClass ex:Thing ;
    sh:property [ sh:path ex:name ; sh:minCount 1 ; sh:datatype xsd:string ] ;
    sh:property [ sh:path ex:date ; sh:maxCount 1 ; sh:datatype xsd:date ] ;
    sh:property [ sh:path ex:label ; sh:uniqueLang true ] ;
    sh:property [ sh:path ex:tag ; sh:minCount 2 ; sh:maxCount 3 ] .
"""
)

# Finds any triple in a named graph: none in data without named graphs.
GRAPH_CONSTRAINT = """
ex:ThingShape sh:sparql [
    sh:select "SELECT $this WHERE { GRAPH ?g { ?s ?p ?o } }" ;
    sh:message "a named graph is visible"@en ] .
"""

DATA = """\
<https://example.org/a> a <https://example.org/Thing> ;
    <https://example.org/date> "1950-02-14"^^<http://www.w3.org/2001/XMLSchema#date> ,
        "1950-02-15"^^<http://www.w3.org/2001/XMLSchema#date> ;
    <https://example.org/label> "a"@en , "b"@en ; <https://example.org/tag> 1 .
<https://example.org/b> a <https://example.org/Thing> ; <https://example.org/name> "B" ;
    <https://example.org/tag> 1, 2, 3, 4 .
"""


class RecordingStore:
    """A pyoxigraph store that records the queries and updates it is given."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store
        self.queries: list[str] = []
        self.updates: list[str] = []
        self.written: list[list[ox.Quad]] = []

    def query(self, text: str):
        self.queries.append(text)
        return self.store.query(text)

    def update(self, text: str) -> None:
        self.updates.append(text)
        self.store.update(text)

    def bulk_extend(self, quads) -> None:
        self.written.append(list(quads))
        self.store.bulk_extend(self.written[-1])


def _store() -> ox.Store:
    store = ox.Store()
    store.load(DATA, format=ox.RdfFormat.TURTLE)
    return store


def _compiler(text: str) -> Compiler:
    graph = Graph()
    graph.parse(data=text, format="turtle")
    return Compiler(graph)


def _found(results) -> list[tuple[str, str]]:
    return sorted((str(r.focus), r.component.split("#")[-1]) for r in results)


EXPECTED = [
    ("https://example.org/a", "MinCountConstraintComponent"),
    ("https://example.org/a", "MaxCountConstraintComponent"),
    ("https://example.org/a", "UniqueLangConstraintComponent"),
    # One grouped count checks both bounds of ex:tag.
    ("https://example.org/a", "MinCountConstraintComponent"),
    ("https://example.org/b", "MaxCountConstraintComponent"),
]


@pytest.mark.parametrize("workers", [1, 2])
def test_the_focus_nodes_of_a_shape_are_found_once_and_the_store_is_left_as_it_was(workers):
    store = _store()
    before = sorted(map(str, store))
    recording = RecordingStore(store)
    results = _compiler(SHAPES).run(recording, LiteralNotes(), workers=workers)
    assert _found(results) == sorted(EXPECTED)
    # One update finds the focus nodes; the queries read them instead of the class target.
    inserts = [u for u in recording.updates if "INSERT" in u]
    assert len(inserts) == 1 and "subClassOf" in inserts[0]
    assert len(recording.queries) >= 3
    assert not any("subClassOf" in q for q in recording.queries)
    assert sum("https://example.org/tag" in q for q in recording.queries) == 1  # both bounds
    assert sorted(map(str, store)) == before
    assert list(store.named_graphs()) == []


@pytest.mark.parametrize("chunk", [1, 2, 100_000])
def test_on_a_scratch_store_the_focus_nodes_are_written_in_chunks(chunk, monkeypatch):
    # A scratch (on-disk) store: one query reads the focus nodes, which are written into
    # focus graphs of at most FOCUS_CHUNK nodes; each compiled query runs once per graph.
    monkeypatch.setattr(shacl_sparql, "FOCUS_CHUNK", chunk)
    recording = RecordingStore(_store())
    found = []
    # A SPARQL-based constraint keeps the target and runs once, whatever the focus graphs.
    select = "SELECT $this WHERE { $this <https://example.org/tag> 4 }"
    sparql = f'ex:ThingShape sh:sparql [ sh:select "{select}" ] .'
    plan = _compiler(SHAPES + PREFIXES + sparql).plan(recording, scratch=True)
    plan.found = lambda nodes, shape: found.append((nodes, str(shape)))
    results = plan.check(LiteralNotes(), workers=2)
    once = [("https://example.org/b", "SPARQLConstraintComponent")]
    assert _found(results) == sorted(EXPECTED + once)  # no result twice, none lost
    assert len([q for q in recording.queries if "subClassOf" in q]) == 2  # and the SPARQL
    written = [sorted(str(q.object) for q in w) for w in recording.written]
    a, b = "<https://example.org/a>", "<https://example.org/b>"
    assert written == ([[a, b]] if chunk > 1 else [[a], [b]]) or written == [[b], [a]]
    graphs = {str(q.graph_name) for w in recording.written for q in w}
    assert len(graphs) == len(written)  # a focus graph a chunk
    tag_queries = [q for q in recording.queries if "<https://example.org/tag> ?" in q]
    assert len(tag_queries) == len(written)  # the grouped count: once per focus graph
    counts = [0, 1, 2] if chunk == 1 else [0, 2]  # 0: the search starts
    assert found == [(n, "https://example.org/ThingShape") for n in counts]


def test_shapes_whose_sparql_names_graphs_do_not_see_the_focus_graphs():
    store = _store()
    recording = RecordingStore(store)
    results = _compiler(SHAPES + GRAPH_CONSTRAINT).run(recording, LiteralNotes(), workers=1)
    assert _found(results) == sorted(EXPECTED)
    assert recording.updates == []  # the targets are evaluated in each query instead


def test_the_focus_graphs_are_removed_when_a_query_fails(monkeypatch):
    store = _store()

    def fail(self, shape, target, **_parts):
        raise RuntimeError("a query failed")

    monkeypatch.setattr(shacl_sparql._Runner, "shape", fail)
    with pytest.raises(RuntimeError):
        _compiler(SHAPES).run(store, LiteralNotes(), workers=1)
    assert list(store.named_graphs()) == []
    assert len(store) == len(_store())


def test_the_report_is_the_same_as_pyshacls_with_focus_graphs(tmp_path: Path):
    shapes = tmp_path / "shapes.ttl"
    shapes.write_text(SHAPES, encoding="utf-8")
    data = tmp_path / "data.ttl"
    data.write_text(DATA, encoding="utf-8")
    fast = validate([data], [shapes], with_ontology=False)
    reference = validate([data], [shapes], with_ontology=False, engine="pyshacl")
    assert fast.engine == "oxigraph"

    def found(report) -> list[dict]:
        # pyshacl writes a message of its own where a shape has none; the fast engine does not.
        return [{k: v for k, v in r.to_dict().items() if k != "message"} for r in report.results]

    assert found(fast) == found(reference)
    assert fast.count("Violation") == 5


@pytest.mark.parametrize(
    "query, kept",
    [
        # One triple pattern, every variable bound outside: one lookup per row, kept.
        ("SELECT $this WHERE { $this <p> ?s ; <q> ?o . FILTER NOT EXISTS { ?s ?o $this } }", True),
        ("SELECT $this WHERE { $this <p> ?v . FILTER NOT EXISTS { $this a ?v . } }", True),
        # A variable bound only inside, two patterns, or a path: a hash anti-join (MINUS).
        ("SELECT $this WHERE { $this <p> ?v . FILTER NOT EXISTS { ?x <q> ?v } }", False),
        (
            "SELECT $this WHERE { $this <p> ?v . "
            "FILTER NOT EXISTS { $this <q> ?v . ?v <r> $this } }",
            False,
        ),
        ("SELECT $this WHERE { $this <p> ?v . FILTER NOT EXISTS { $this <q>/<r> ?v } }", False),
    ],
)
def test_not_exists_is_kept_only_for_one_bound_triple_pattern(query, kept):
    rewritten = rewrite_exists(query)
    assert ("NOT EXISTS" in rewritten) == kept
    assert ("MINUS" in rewritten) == (not kept)


def test_the_focus_graphs_are_filled_once_the_store_is_loaded(tmp_path: Path):
    from treatykg import loading

    data = tmp_path / "data.ttl"
    data.write_text(DATA, encoding="utf-8")
    compiler = _compiler(SHAPES)
    seen: list[int] = []
    plans = []

    def when_loaded(store, parsed):
        seen.append(len(store))  # every triple is in, whether or not the streaming pass is over
        plans.append(compiler.plan(store))
        plans[0].fill(None)

    store, notes, counts = loading.load_validation_store([data], when_loaded=when_loaded)
    assert seen == [counts[data]] == [len(_store())]
    assert len(list(store.named_graphs())) == 1  # ThingShape's focus graph, filled
    assert _found(plans[0].check(notes, workers=1)) == sorted(EXPECTED)
    assert list(store.named_graphs()) == []


def test_an_error_on_one_thread_stops_the_others_and_reaches_the_caller(monkeypatch):
    checked = []
    real = shacl_sparql._Runner.shape

    def shape(runner, checked_shape, target, **parts):
        if parts.get("compiled") is False:  # a shape's SPARQL-based constraints: it has none
            return
        checked.append(checked_shape)
        if len(checked) == 2:
            raise RuntimeError("a query failed")
        time.sleep(0.2)  # the first shape is still being checked when the second fails
        real(runner, checked_shape, target, **parts)

    monkeypatch.setattr(shacl_sparql._Runner, "shape", shape)
    store = _store()
    plan = _compiler(SHAPES).plan(store)
    jobs = sum(len(group[2]) for group in plan.groups)
    with pytest.raises(RuntimeError, match="a query failed"):
        plan.check(LiteralNotes(), workers=2)
    # The second shape fails: the other thread finishes the shape it has and takes no other.
    assert jobs == 4 and len(checked) == 2
    assert list(store.named_graphs()) == []


def test_a_shapes_results_are_handed_over_as_they_are_found(monkeypatch):
    # Every HAND_OVER results, not when the shape is done: a shape with a million results
    # does not hold them on its thread (they may be going to disk).
    monkeypatch.setattr(shacl_sparql, "HAND_OVER", 1)
    extended: list[int] = []

    class Sink(list):
        def extend(self, found):
            extended.append(len(found))
            super().extend(found)

    results = _compiler(SHAPES).plan(_store()).check(LiteralNotes(), workers=2, results=Sink())
    assert _found(results) == sorted(EXPECTED)
    assert [n for n in extended if n] == [1] * len(EXPECTED)  # one at a time (ex:tag has two)


def test_one_thread_at_a_time_fills_focus_graphs_while_the_other_checks(monkeypatch):
    # Two node shapes with focus graphs: their fills never overlap (the store lets one writer
    # in at a time), and shapes are checked meanwhile.
    second = SHAPES.replace("ex:ThingShape", "ex:OtherShape")
    events: list[tuple[str, float, float]] = []
    fill, shape = shacl_sparql.Plan._fill, shacl_sparql._Runner.shape

    def timed(kind, real):
        def call(*args, **kwargs):
            start = time.monotonic()
            time.sleep(0.05)
            try:
                return real(*args, **kwargs)
            finally:
                events.append((kind, start, time.monotonic()))

        return call

    monkeypatch.setattr(shacl_sparql.Plan, "_fill", timed("fill", fill))
    monkeypatch.setattr(shacl_sparql._Runner, "shape", timed("check", shape))
    results = _compiler(SHAPES + second).plan(_store()).check(LiteralNotes(), workers=2)
    assert _found(results) == sorted(EXPECTED * 2)
    fills = sorted((start, end) for kind, start, end in events if kind == "fill")
    assert len(fills) == 2 and fills[0][1] <= fills[1][0]
    checks = [(start, end) for kind, start, end in events if kind == "check"]
    assert any(start < fills[1][1] and end > fills[1][0] for start, end in checks)


def test_an_error_while_filling_is_raised_by_check():
    # A target whose query the store cannot read: the error reaches the caller of check().
    shapes = SHAPES.replace(
        "sh:targetClass ex:Thing ;",
        'sh:target [ a sh:SPARQLTarget ; sh:select "SELECT ?this WHERE { ?this ?p }" ] ;',
    )
    plan = _compiler(shapes).plan(_store())
    plan.fill()
    with pytest.raises(shacl_sparql.Unsupported, match="cannot read"):
        plan.check(LiteralNotes(), workers=1)
