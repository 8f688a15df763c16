"""The OWL 2 RL consistency check: the fast engine and owlrl (the reference) agree.

Each fixture ``tests/fixtures/owl-rl/<rule>--<defect>.ttl`` is checked together with
``ontology/``; ``<rule>`` is the OWL 2 RL rule (as the profile and owlrl name it) that makes it
inconsistent, and each ``# message:`` line in its header is a message the check must return.
Where the fast engine applies that rule (``reasoning._FAST_RULES``) it must answer, with owlrl's
closure and messages; where it does not, it must leave the graph to owlrl.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from owlrl.Namespaces import ERRNS
from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, Namespace

from treatykg import loading, reasoning
from treatykg.rdflib_graphs import merged_graph, quiet_literal_warnings

FIXTURES = Path(__file__).parent / "fixtures" / "owl-rl"
FIXTURE_FILES = sorted(FIXTURES.glob("*.ttl"))


@cache
def _graph(fixture: Path | None) -> Graph:
    if fixture is None:
        return merged_graph()
    return merged_graph([*loading.ontology_files(), fixture])


@cache
def _owlrl(fixture: Path | None) -> tuple[frozenset, list[str]]:
    return _owlrl_closure(_graph(fixture))


def _owlrl_closure(graph: Graph) -> tuple[frozenset, list[str]]:
    """owlrl's closure (without its error records) and messages."""
    closure = reasoning.owlrl_closure(graph)
    errors = set(closure.subjects(None, ERRNS.ErrorMessage))
    triples = frozenset(t for t in closure if t[0] not in errors)
    return triples, reasoning.owlrl_messages(closure)


def _fast(fixture: Path | None) -> tuple[frozenset, list[str]]:
    return _fast_closure(_graph(fixture))


def _fast_closure(graph: Graph) -> tuple[frozenset, list[str]]:
    closure = reasoning._Closure(graph)
    term = closure.terms.__getitem__
    # owlrl removes the triples whose predicate is a blank node when it is done.
    triples = frozenset(
        (term(s), term(p), term(o)) for s, p, o in closure.triples if not isinstance(term(p), BNode)
    )
    return triples, closure.inconsistencies()


def test_the_fixtures_are_there():
    assert len(FIXTURE_FILES) >= 10
    for fixture in FIXTURE_FILES:
        assert re.fullmatch(r"[a-z]+-[a-z0-9-]+--[a-z0-9-]+\.ttl", fixture.name), fixture.name
        assert _expected_messages(fixture), f"{fixture.name} names no message"


def test_the_project_graph_is_consistent_and_both_engines_agree_on_its_closure():
    fast_closure, fast_messages = _fast(None)
    owlrl_closure, owlrl_messages = _owlrl(None)
    assert fast_messages == owlrl_messages == []
    assert fast_closure == owlrl_closure
    assert reasoning.owl_rl_inconsistencies(_graph(None)) == []


def _expected_messages(fixture: Path) -> list[str]:
    text = fixture.read_text(encoding="utf-8")
    return re.findall(r"^# message: (.+)$", text, flags=re.MULTILINE)


@pytest.mark.parametrize("fixture", FIXTURE_FILES, ids=lambda f: f.stem)
def test_each_inconsistency_is_found_and_both_engines_agree(fixture):
    rule = fixture.name.split("--")[0]
    owlrl_closure, owlrl_messages = _owlrl(fixture)
    for expected in _expected_messages(fixture):
        assert expected in owlrl_messages
    if rule in reasoning._FAST_RULES:
        fast_closure, fast_messages = _fast(fixture)
        assert fast_messages == owlrl_messages
        assert fast_closure == owlrl_closure
        assert reasoning.owl_rl_inconsistencies(_graph(fixture)) == owlrl_messages
    else:  # owl_rl_inconsistencies then asks owlrl (as the small graphs below check too)
        with pytest.raises(reasoning._LeftToOwlrl):
            reasoning._Closure(_graph(fixture))


def test_the_check_leaves_its_input_unchanged():
    graph = _graph(FIXTURES / "eq-diff1--same-and-different.ttl")
    before = set(graph)
    assert reasoning.owl_rl_inconsistencies(graph)
    assert set(graph) == before


# -- small random graphs: the rules one by one and together -----------------------------------

EX = Namespace("https://example.org/")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
_INDIVIDUALS = [EX.a, EX.b, EX.c, BNode("n")]
with quiet_literal_warnings():  # rdflib logs a traceback for the ill-typed one
    _LITERALS = [
        Literal(1),
        Literal("x"),
        Literal(True),
        Literal("1.5", datatype=XSD.decimal),
        Literal("abc", datatype=XSD.integer),  # ill-typed
        Literal("2", datatype=XSD.positiveInteger),
    ]
_CLASSES = [EX.C, EX.D, EX.E, OWL.Thing, OWL.Nothing, XSD.decimal, XSD.boolean]
_PROPERTIES = [EX.p, EX.q, EX.r]
_PROPERTY_TYPES = [
    OWL.FunctionalProperty,
    OWL.SymmetricProperty,
    OWL.TransitiveProperty,
    OWL.ObjectProperty,
    OWL.DatatypeProperty,
    OWL.IrreflexiveProperty,  # not a fast rule: such graphs go to owlrl
]


def _triples(subjects, predicates, objects):
    pick = st.sampled_from
    return st.tuples(pick(subjects), pick(predicates), pick(objects))


_TRIPLE = st.one_of(
    _triples(_CLASSES, [RDFS.subClassOf, OWL.equivalentClass, OWL.disjointWith], _CLASSES),
    _triples(_CLASSES, [RDF.type], [OWL.Class]),
    _triples(_PROPERTIES, [RDFS.subPropertyOf, OWL.equivalentProperty, OWL.inverseOf], _PROPERTIES),
    _triples(_PROPERTIES, [RDFS.domain, RDFS.range], _CLASSES),
    _triples(_PROPERTIES, [RDF.type], _PROPERTY_TYPES),
    _triples(_INDIVIDUALS, [OWL.sameAs, OWL.differentFrom], _INDIVIDUALS),
    _triples(_INDIVIDUALS, [RDF.type], _CLASSES),
    _triples(_INDIVIDUALS, _PROPERTIES, _INDIVIDUALS + _LITERALS),
)


FUZZ = float(os.environ.get("TREATYKG_FUZZ") or 0)
"""``make fuzz`` (``TREATYKG_FUZZ=1``) tries many more graphs, at random."""


@settings(max_examples=round(1000 * FUZZ) or 40, deadline=None, derandomize=not FUZZ, database=None)
@given(st.lists(_TRIPLE, min_size=1, max_size=14))
def test_both_engines_agree_on_small_graphs(triples):
    graph = Graph()
    for triple in triples:
        graph.add(triple)
    owlrl_closure, owlrl_messages = _owlrl_closure(graph)
    assert reasoning.owl_rl_inconsistencies(graph) == owlrl_messages
    try:
        fast_closure, fast_messages = _fast_closure(graph)
    except reasoning._LeftToOwlrl:
        return
    assert fast_messages == owlrl_messages
    assert fast_closure == owlrl_closure
