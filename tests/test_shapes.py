"""The SHACL shapes: the real graph conforms, and every shape fails on its own bad fixture.

Each bad fixture ``tests/fixtures/shapes/<ShapeName>--<defect>.ttl`` is a small Turtle graph,
validated together with ``ontology/`` and nothing else. Its header names what must fail::

    # focus: <https://w3id.org/treatykg/id/treaty/x>
    # constraint: tkgsh:TreatyShape-party
    # component: sh:MinCountConstraintComponent      (optional)
    # not: tkgsh:TreatyShape-entryIntoForceNotBeforeSigning   (optional, repeatable)

The test asserts that a validation result has that focus node and comes from that constraint
(``sh:sourceShape``, or ``sh:sourceConstraint`` for a SPARQL-based constraint), with that
component if one is given, and that no result comes from a constraint named by ``# not:``.
``valid-minimal.ttl`` uses every class a shape targets and must conform.
"""

from __future__ import annotations

import re
import time
from functools import cache
from pathlib import Path

import pytest
from rdflib import RDF, RDFS, BNode, Graph, Namespace, URIRef

from reports import fast_report
from treatykg import loading, rdflib_graphs
from treatykg.validation import Report, validate

SH = Namespace("http://www.w3.org/ns/shacl#")
TKGSH = Namespace("https://w3id.org/treatykg/shapes#")

FIXTURES = Path(__file__).parent / "fixtures" / "shapes"
BAD_FIXTURES = sorted(FIXTURES.glob("*--*.ttl"))
VALID_FIXTURE = FIXTURES / "valid-minimal.ttl"

PREFIXES = {"tkgsh": str(TKGSH), "sh": str(SH)}  # other IRIs are written <in full>
HEADER = re.compile(r"^#\s*(focus|constraint|component|not):\s*(\S+)\s*$")
FILE_NAME = re.compile(
    r"^(?P<shape>[A-Za-z]+Shape(-[A-Za-z0-9-]+?)?)--(?P<defect>[a-z0-9]+(-[a-z0-9]+)*)$"
)

# Constraint parameters that make a node shape produce results of its own (sh:property and
# sh:sparql produce results under their own names).
CORE_PARAMETERS = """
    class datatype nodeKind minExclusive minInclusive maxExclusive maxInclusive minLength
    maxLength pattern languageIn in hasValue node not and or xone closed equals disjoint
"""
NODE_LEVEL_PARAMETERS = {SH[name] for name in CORE_PARAMETERS.split()}


def _iri(text: str) -> URIRef:
    if text.startswith("<") and text.endswith(">"):
        return URIRef(text[1:-1])
    prefix, _, local = text.partition(":")
    if prefix not in PREFIXES:
        raise ValueError(f"unknown prefix in {text!r}")
    return URIRef(PREFIXES[prefix] + local)


def fixture_header(path: Path) -> dict:
    """Return the fixture's ``focus``, ``constraint``, ``component`` IRIs and ``not`` list."""
    header: dict = {"not": []}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = HEADER.match(line)
        if not match:
            continue
        if match[1] == "not":
            header["not"].append(_iri(match[2]))
        else:
            assert match[1] not in header, f"{path.name}: two '# {match[1]}:' lines"
            header[match[1]] = _iri(match[2])
    return header


@cache
def shapes_graph() -> Graph:
    return rdflib_graphs.merged_graph(loading.shape_files())


def named_shapes() -> dict[URIRef, str]:
    """Return every named node shape, property shape and SPARQL constraint, with its kind."""
    graph = shapes_graph()
    kinds = {}
    for kind in (SH.NodeShape, SH.PropertyShape, SH.SPARQLConstraint):
        for node in graph.subjects(RDF.type, kind):
            if isinstance(node, URIRef):
                kinds[node] = kind.fragment
    return kinds


def _from(report: Report, constraint: URIRef) -> list:
    """Return the results that come from a shape or SPARQL constraint."""
    is_sparql = (constraint, RDF.type, SH.SPARQLConstraint) in shapes_graph()
    source = SH.sourceConstraint if is_sparql else SH.sourceShape
    return list(report.graph.subjects(source, constraint))


def _matching(report: Report, header: dict) -> list:
    """Return the results with the header's focus node, constraint and (if given) component."""
    graph = report.graph
    matches = []
    for result in _from(report, header["constraint"]):
        if graph.value(result, SH.focusNode) != header["focus"]:
            continue
        component = graph.value(result, SH.sourceConstraintComponent)
        if "component" in header and component != header["component"]:
            continue
        matches.append(result)
    return matches


def _describe(report: Report) -> str:
    return "\n".join(
        f"  {r.focus_node} | {r.source_shape} | {r.source_constraint_component} | {r.message}"
        for r in report.results
    )


# --- the fixtures count themselves -----------------------------------------------------------


def test_fixture_folder_holds_only_named_fixtures():
    """The parametrised lists are not empty, and no file escapes them by its name."""
    assert BAD_FIXTURES and named_shapes()
    assert VALID_FIXTURE.is_file()
    stray = {p.name for p in FIXTURES.iterdir()} - {p.name for p in [*BAD_FIXTURES, VALID_FIXTURE]}
    assert not stray, f"files in {FIXTURES} that no test reads: {sorted(stray)}"


@pytest.mark.parametrize("path", BAD_FIXTURES, ids=lambda p: p.stem)
def test_fixture_header_and_name(path: Path):
    header = fixture_header(path)
    assert {"focus", "constraint"} <= header.keys(), f"{path.name}: missing # focus / # constraint"
    match = FILE_NAME.match(path.stem)
    assert match, f"{path.name}: not <ShapeName>--<defect-in-kebab-case>.ttl"
    assert header["constraint"] in named_shapes(), f"{path.name}: no shape {header['constraint']}"
    assert TKGSH[match["shape"]] == header["constraint"], (
        f"{path.name}: the file is named after {match['shape']} "
        f"but its header names {header['constraint']}"
    )


def test_every_shape_has_a_bad_fixture():
    """Every property shape, SPARQL constraint and node-level constraint is named by a fixture.

    A node shape with no constraint of its own (only sh:property / sh:sparql) fails only through
    its parts, which are themselves named.
    """
    graph = shapes_graph()
    named = {fixture_header(p).get("constraint") for p in BAD_FIXTURES}
    missing = []
    for shape, kind in named_shapes().items():
        if shape in named:
            continue
        if kind == "NodeShape" and not _has_own_constraint(graph, shape):
            parts = set(graph.objects(shape, SH.property)) | set(graph.objects(shape, SH.sparql))
            if parts:  # it fails only through its parts, each named by a fixture
                continue
        missing.append(shape)
    assert not missing, "shapes without a bad fixture: " + ", ".join(sorted(missing))


def _has_own_constraint(graph: Graph, shape: URIRef) -> bool:
    return any(p in NODE_LEVEL_PARAMETERS for p in graph.predicates(shape, None))


def test_shapes_are_named_and_documented():
    """Names follow tkgsh:<Class>Shape[-<part>]; every constraint has sh:name, description, message.

    A node shape carries sh:message exactly when it has a constraint of its own, and never when
    it hosts SPARQL constraints: pyshacl adds a node shape's message to every result of its
    SPARQL constraints, which would garble theirs.
    """
    graph = shapes_graph()
    shapes = named_shapes()
    problems = []
    for owner, predicate, part in graph.triples((None, None, None)):
        if predicate in (SH.property, SH.sparql) and isinstance(part, BNode):
            problems.append(f"{owner}: blank-node {predicate.fragment}; name it")
    for shape, kind in shapes.items():
        local = shape.removeprefix(str(TKGSH))
        match = re.fullmatch(r"(?P<base>[A-Z][A-Za-z]*Shape)(-[A-Za-z0-9-]+)?", local)
        if not match:
            problems.append(f"{shape}: not tkgsh:<Class>Shape or tkgsh:<Class>Shape-<part>")
            continue
        if local != match["base"] and TKGSH[match["base"]] not in shapes:
            problems.append(f"{local}: no node shape {match['base']}")
        if kind != "NodeShape":
            owners = {
                str(owner).removeprefix(str(TKGSH))
                for predicate in (SH.property, SH.sparql)
                for owner in graph.subjects(predicate, shape)
            }
            if match["base"] not in owners:
                problems.append(f"{local}: not used by {match['base']} (used by {sorted(owners)})")
        for predicate in (SH.name, SH.description):
            if graph.value(shape, predicate) is None:
                problems.append(f"{local}: no sh:{predicate.fragment}")
        has_message = graph.value(shape, SH.message) is not None
        if kind == "NodeShape":
            if _has_own_constraint(graph, shape) != has_message:
                problems.append(f"{local}: sh:message iff the node shape has its own constraint")
            if (shape, SH.sparql, None) in graph and _has_own_constraint(graph, shape):
                problems.append(f"{local}: hosts SPARQL constraints and has its own constraints")
        elif not has_message:
            problems.append(f"{local}: no sh:message")
    assert not problems, "\n".join(problems)


# --- the bad fixtures fail, each for its stated reason --------------------------------------


@pytest.mark.parametrize("path", BAD_FIXTURES, ids=lambda p: p.stem)
def test_bad_fixture_fails_for_its_reason(path: Path):
    header = fixture_header(path)
    report = fast_report(path)
    matches = _matching(report, header)
    assert matches, (
        f"{path.name}: no result with focus {header['focus']} from {header['constraint']}"
        f"{' (' + header['component'] + ')' if 'component' in header else ''}; results:\n"
        + _describe(report)
    )
    severity = report.graph.value(matches[0], SH.resultSeverity)
    if severity == SH.Violation:
        assert not report.conforms
    for other in header["not"]:
        assert not _from(report, other), f"{path.name}: {other} fired too:\n" + _describe(report)


def test_valid_fixture_conforms():
    report = fast_report(VALID_FIXTURE)
    assert report.conforms and not report.results, report.to_text()


def test_valid_fixture_uses_every_targeted_class():
    """valid-minimal.ttl reaches every class a shape targets, so its conformance means something."""
    data = rdflib_graphs.merged_graph([VALID_FIXTURE])
    ontology = rdflib_graphs.merged_graph(loading.ontology_files())
    reached = {
        ancestor
        for cls in set(data.objects(None, RDF.type))
        for ancestor in ontology.transitive_objects(cls, RDFS.subClassOf)
    }
    targeted = set(shapes_graph().objects(None, SH.targetClass))
    assert targeted - reached == set()


# --- the real graph ------------------------------------------------------------------------


@cache
def real_report() -> tuple[Report, float]:
    start = time.perf_counter()
    report = validate()
    return report, time.perf_counter() - start


def test_real_graph_conforms():
    report, seconds = real_report()
    print(f"validation of ontology + graph took {seconds:.1f} s; {report.summary()}")
    violations = [r for r in report.results if r.severity == "Violation"]
    assert report.conforms and not violations, report.to_text()


def test_every_class_in_the_graph_has_a_shape():
    data = rdflib_graphs.merged_graph()
    ontology = rdflib_graphs.merged_graph(loading.ontology_files())
    targeted = set(shapes_graph().objects(None, SH.targetClass))
    used = {cls for s, cls in data.subject_objects(RDF.type) if (s, None, None) not in ontology}
    untargeted = [
        cls for cls in used if not set(ontology.transitive_objects(cls, RDFS.subClassOf)) & targeted
    ]
    assert not untargeted, f"classes used in graph/ with no shape: {sorted(untargeted)}"


def test_source_kind_shape_lists_exactly_the_kinds_of_the_scheme():
    """The shape's sh:in list and the concept scheme concept:source-kinds name the same kinds."""
    from rdflib.collection import Collection
    from rdflib.namespace import SKOS

    shapes = shapes_graph()
    listed = set(Collection(shapes, shapes.value(TKGSH["SourceShape-sourceKind"], SH["in"])))
    data = rdflib_graphs.merged_graph()
    scheme = URIRef("https://w3id.org/treatykg/id/concept/source-kinds")
    in_scheme = set(data.subjects(SKOS.inScheme, scheme))
    assert len(in_scheme) >= 6
    assert listed == in_scheme
