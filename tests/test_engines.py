"""The fast engine (shapes compiled to SPARQL on pyoxigraph) gives pyshacl's report.

pyshacl is the reference. The two engines must give the same results (focus node, path, value,
message, severity, source shape and constraint component, in the same order) and the same text
and JSON reports:

- on the project's graph and on ``valid-minimal.ttl``, with all the shapes;
- on every shape fixture, with the node shape(s) that hold the fixture's constraint (and what
  they use). pyshacl takes about half a second per fixture with all the shapes, a minute and a
  half for them all; this keeps the comparison of every fixture in the normal run. With
  ``TREATYKG_ENGINES=all`` in the environment (``make test-engines``), every fixture is also
  compared with all the shapes.

A shape that the fast engine reads differently from pyshacl fails here, with both reports shown.

pyshacl parses the query of each SPARQL-based constraint anew on every run, and that parse (rdflib's
pyparsing grammar) was two thirds of its time here; this module parses each query text once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from rdflib import RDF, BNode, Graph, Namespace, URIRef
from rdflib.plugins.sparql.processor import SPARQLProcessor, prepareQuery

from reports import fast_report
from test_shapes import BAD_FIXTURES, VALID_FIXTURE, fixture_header, shapes_graph
from treatykg import rdflib_graphs
from treatykg.validation import Report, validate

SH = Namespace("http://www.w3.org/ns/shacl#")
ALL_FIXTURES = [*BAD_FIXTURES, VALID_FIXTURE]
FULL = os.environ.get("TREATYKG_ENGINES") == "all"

# Edges from a shape to the shapes (and prefix declarations) it uses.
_USES = {SH.property, SH.sparql, SH.node, SH.qualifiedValueShape, SH["not"], SH.prefixes}


def _query_key(text: str, init_ns, base) -> tuple | None:
    """What makes two query texts one query: pyshacl writes the same PREFIX lines in any order."""
    lines = text.split("\n")
    count = next((i for i, line in enumerate(lines) if not line.startswith("PREFIX ")), len(lines))
    names = [line.split()[1] for line in lines[:count]]
    if len(set(names)) != len(names):
        return None  # a prefix declared twice: its order matters
    rest = "\n".join(lines[count:])
    return frozenset(lines[:count]), rest, base, frozenset((init_ns or {}).items())


@pytest.fixture(scope="module", autouse=True)
def each_query_parsed_once() -> Iterator[None]:
    """rdflib's SPARQL engine parses and translates each query once in this module.

    A prepared query is what rdflib offers for running one query many times: the answers are the
    same, only the parse is saved. pyshacl's queries are few and the same from run to run.
    """
    prepared: dict = {}
    query = SPARQLProcessor.query

    def query_once_parsed(self, text, initBindings=None, initNs=None, base=None, DEBUG=False):
        key = _query_key(text, initNs, base) if isinstance(text, str) else None
        if key is not None:
            if key not in prepared:
                prepared[key] = prepareQuery(text, initNs, base)
            text = prepared[key]
        return query(self, text, initBindings, initNs, base, DEBUG)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SPARQLProcessor, "query", query_once_parsed)
        yield


@pytest.fixture(scope="module", autouse=True)
def each_file_converted_once() -> Iterator[None]:
    """rdflib_graphs converts each unchanged file to rdflib terms once in this module.

    pyshacl's data graph is the ontology with the fixture: without this, the ontology's thousand
    triples were parsed and converted again for each of the 200-odd fixtures, two thirds of
    pyshacl's side. The graphs built from the converted triples are new each time, as before.
    """
    converted: dict[tuple[str, int, int], tuple] = {}
    convert = rdflib_graphs._rdflib_triples

    def converted_once(path: Path) -> Iterator[tuple]:
        stat = Path(path).stat()
        key = (str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)
        if key not in converted:
            converted[key] = tuple(convert(path))
        return iter(converted[key])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rdflib_graphs, "_rdflib_triples", converted_once)
        yield


def _compare(fast: Report, reference: Report) -> None:
    assert fast.engine == "oxigraph", f"the fast engine fell back to pyshacl: {fast.note}"
    assert reference.engine == "pyshacl"
    assert fast.to_text() == reference.to_text()
    assert fast.to_json() == reference.to_json()
    assert fast.conforms == reference.conforms


@cache
def _owners(constraint: URIRef) -> list[URIRef]:
    """The targeted node shapes that hold ``constraint`` (or it, if it is one)."""
    graph = shapes_graph()
    if (constraint, RDF.type, SH.NodeShape) in graph:
        return [constraint]
    return sorted(
        set(graph.subjects(SH.property, constraint)) | set(graph.subjects(SH.sparql, constraint))
    )


def _closure(shapes: list[URIRef]) -> Graph:
    """The triples describing ``shapes`` and everything they use."""
    graph = shapes_graph()
    out = Graph()
    seen: set = set()
    frontier = list(shapes)
    while frontier:
        node = frontier.pop()
        if node in seen:
            continue
        seen.add(node)
        for predicate, obj in graph.predicate_objects(node):
            out.add((node, predicate, obj))
            if isinstance(obj, BNode) or predicate in _USES or predicate == SH.declare:
                frontier.append(obj)
    return out


def test_the_fixture_lists_are_not_empty():
    assert len(ALL_FIXTURES) > 100


def test_the_project_graph_gives_the_same_report():
    _compare(validate(), validate(engine="pyshacl"))


def test_the_valid_fixture_gives_the_same_report_with_all_shapes():
    _compare(fast_report(VALID_FIXTURE), validate([VALID_FIXTURE], engine="pyshacl"))


@pytest.mark.parametrize("path", BAD_FIXTURES, ids=lambda p: p.stem)
def test_each_fixture_gives_the_same_report_for_its_shape(path: Path, tmp_path: Path):
    owners = _owners(fixture_header(path)["constraint"])
    assert owners, f"{path.name}: no node shape holds its constraint"
    shapes = tmp_path / "shapes.ttl"
    shapes.write_text(_closure(owners).serialize(format="turtle"), encoding="utf-8")
    fast = validate([path], [shapes])
    reference = validate([path], [shapes], engine="pyshacl")
    _compare(fast, reference)
    assert fast.results, f"{path.name}: no result from its own shape"


@pytest.mark.skipif(not FULL, reason="TREATYKG_ENGINES=all (make test-engines) runs this")
@pytest.mark.parametrize("path", BAD_FIXTURES, ids=lambda p: p.stem)
def test_each_fixture_gives_the_same_report_with_all_shapes(path: Path):
    _compare(fast_report(path), validate([path], engine="pyshacl"))
