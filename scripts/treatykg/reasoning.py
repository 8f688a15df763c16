"""OWL 2 RL consistency of the ontology and the data, computed with owlrl.

The OWL 2 RL rules that detect inconsistency (an individual of two disjoint classes, a member
of ``owl:Nothing``, two different values of a functional datatype property, ...) make owlrl
record an error message instead of failing. :func:`owl_rl_inconsistencies` expands a copy of
the graph and returns those messages: an empty list means the graph is consistent under OWL 2 RL.

Datatype axioms are off: owlrl does not know ``xsd:gYearMonth``/``xsd:gYear`` (which the graph
uses for dates of month or year precision) and would report them as ill-typed.
"""

from __future__ import annotations

from rdflib import OWL, RDF, Graph


def owl_rl_inconsistencies(graph: Graph) -> list[str]:
    """Return the inconsistencies the OWL 2 RL closure of ``graph`` finds, sorted.

    ``graph`` is not changed. Each message is owlrl's own, plus one line per resource that
    the closure puts in ``owl:Nothing``.
    """
    import owlrl  # imported here: only --owl-rl needs it
    from owlrl.Namespaces import ERRNS

    closure = Graph()
    for triple in graph:
        closure.add(triple)
    owlrl.DeductiveClosure(
        owlrl.OWLRL_Semantics,
        rdfs_closure=False,
        axiomatic_triples=False,
        datatype_axioms=False,
    ).expand(closure)
    messages = {str(message) for message in closure.objects(None, ERRNS.error)}
    messages.update(
        f"{member} is a member of owl:Nothing" for member in closure.subjects(RDF.type, OWL.Nothing)
    )
    return sorted(messages)
