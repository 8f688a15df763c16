"""OWL 2 RL consistency of the ontology and the data.

The OWL 2 RL rules that detect inconsistency (an individual of two disjoint classes, a member
of ``owl:Nothing``, ``owl:sameAs`` against ``owl:differentFrom``, an ill-typed literal, ...)
make owlrl, the reference implementation, record an error message instead of failing.
:func:`owl_rl_inconsistencies` returns those messages: an empty list means the graph is
consistent under OWL 2 RL.

Two engines, one answer. owlrl applies every rule to every triple, again and again until
nothing changes, through rdflib: about 3 s on the project's graph. :class:`_Closure` applies the
same rules (owlrl's, as owlrl words and implements them, with owlrl's own datatype tables) to
triples of integers with indexes: about 0.1 s. It implements the rules of the vocabulary the
ontology uses (:data:`_FAST_RULES`); when its closure holds a triple that would start one of
owlrl's other rules (an ``owl:someValuesFrom`` restriction, an ``owl:AllDifferent``, an
irreflexive property, ...: :data:`_OTHER_RULES`), the graph goes to owlrl instead. Its rules are
a subset of owlrl's, and none of owlrl's other rules can start without such a triple, so when
it answers, both closures are the same, and so are the messages. tests/test_reasoning.py
checks that on the project's graph and on one inconsistent graph of each kind.

Datatype axioms are off: owlrl does not know ``xsd:gYearMonth``/``xsd:gYear`` (which the graph
uses for dates of month or year precision) and would report them as ill-typed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from rdflib import OWL, RDF, RDFS, Graph, Literal
from rdflib.term import Node

_FAST_RULES = (
    "prp-dom", "prp-rng", "prp-fp", "prp-symp", "prp-trp", "prp-spo1", "prp-eqp1", "prp-eqp2",
    "prp-inv1", "prp-inv2", "prp-ap", "eq-ref", "eq-sym", "eq-trans", "eq-rep-s", "eq-rep-p",
    "eq-rep-o", "eq-diff1", "cls-thing", "cls-nothing1", "cls-nothing2", "cls-oo", "cax-sco",
    "cax-eqc1", "cax-eqc2", "cax-dw", "scm-cls", "scm-sco", "scm-eqc1", "scm-eqc2", "scm-op",
    "scm-dp", "scm-spo", "scm-eqp1", "scm-eqp2", "scm-dom1", "scm-dom2", "scm-rng1", "scm-rng2",
    "dt-type1", "dt-type2", "dt-not-type",
)  # fmt: skip
"""The OWL 2 RL rules (named as in the OWL 2 RL profile and in owlrl) that :class:`_Closure`
applies."""

_OTHER_RULES = {
    "predicates": (
        OWL.propertyChainAxiom,
        OWL.propertyDisjointWith,
        OWL.hasKey,
        OWL.sourceIndividual,
        OWL.intersectionOf,
        OWL.unionOf,
        OWL.complementOf,
        OWL.someValuesFrom,
        OWL.allValuesFrom,
        OWL.hasValue,
        OWL.maxCardinality,
        OWL.maxQualifiedCardinality,
    ),
    "types": (
        OWL.InverseFunctionalProperty,
        OWL.IrreflexiveProperty,
        OWL.AsymmetricProperty,
        OWL.AllDisjointProperties,
        OWL.AllDifferent,
        OWL.AllDisjointClasses,
    ),
}
"""What starts owlrl's other rules: a triple with one of these predicates, or of one of these
types. A closure holding one is left to owlrl."""


def owl_rl_inconsistencies(graph: Graph) -> list[str]:
    """Return the inconsistencies the OWL 2 RL closure of ``graph`` finds, sorted.

    ``graph`` is not changed. Each message is owlrl's own, plus one line per resource that
    the closure puts in ``owl:Nothing``. The fast engine answers where it can, owlrl elsewhere.
    """
    try:
        return _Closure(graph).inconsistencies()
    except _LeftToOwlrl:
        return owlrl_inconsistencies(graph)


def owlrl_inconsistencies(graph: Graph) -> list[str]:
    """Return what :func:`owl_rl_inconsistencies` returns, computed by owlrl (the reference)."""
    return owlrl_messages(owlrl_closure(graph))


def owlrl_closure(graph: Graph) -> Graph:
    """Return a copy of ``graph`` expanded by owlrl, which records its messages in it."""
    import owlrl  # imported here: only --owl-rl needs it

    # rdflib's context-free store: owlrl needs no named graphs, and its rules' many lookups run
    # about a fifth faster there than in the default store (the same closure: tests/test_reasoning).
    closure = Graph(store="SimpleMemory")
    for triple in graph:
        closure.add(triple)
    owlrl.DeductiveClosure(
        owlrl.OWLRL_Semantics,
        rdfs_closure=False,
        axiomatic_triples=False,
        datatype_axioms=False,
    ).expand(closure)
    return closure


def owlrl_messages(closure: Graph) -> list[str]:
    """Return the messages owlrl recorded in ``closure``, and a line per member of
    ``owl:Nothing``, sorted."""
    from owlrl.Namespaces import ERRNS

    messages = {str(message) for message in closure.objects(None, ERRNS.error)}
    messages.update(
        f"{member} is a member of owl:Nothing" for member in closure.subjects(RDF.type, OWL.Nothing)
    )
    return sorted(messages)


def _identity(value: str) -> str:
    return value


class _LeftToOwlrl(Exception):
    """The graph needs a rule :class:`_Closure` does not apply."""


class _Closure:
    """The OWL 2 RL closure of a graph under the rules of :data:`_FAST_RULES`, as owlrl computes
    it (``rdfs_closure``, ``axiomatic_triples`` and ``datatype_axioms`` off).

    Terms are numbered (equal rdflib terms get the same number, as they are the same node for
    owlrl), triples are tuples of numbers, and each round applies every rule to the whole
    closure through indexes, until a round adds nothing. The error conditions are then
    checked on the closure: owlrl checks them on every round, but the closure only grows, so a
    condition met once is met at the end.
    """

    def __init__(self, graph: Graph) -> None:
        self.terms: list[Node] = []
        self.numbers: dict[Node, int] = {}
        self.literals: set[int] = set()
        self.triples: set[tuple[int, int, int]] = set()
        self.by_p: dict[int, set[tuple[int, int]]] = defaultdict(set)  # p -> {(s, o)}
        self.by_s: dict[int, set[tuple[int, int]]] = defaultdict(set)  # s -> {(p, o)}
        self.by_o: dict[int, set[tuple[int, int]]] = defaultdict(set)  # o -> {(s, p)}
        self.objects: dict[tuple[int, int], set[int]] = defaultdict(set)  # (s, p) -> {o}
        self.subjects: dict[tuple[int, int], set[int]] = defaultdict(set)  # (p, o) -> {s}
        self.reflexive: set[int] = set()  # terms with (t owl:sameAs t): eq-ref
        self.errors: set[str] = set()
        n = self.number
        self.TYPE, self.SAME, self.DIFFERENT = n(RDF.type), n(OWL.sameAs), n(OWL.differentFrom)
        self.SUBCLASS, self.SUBPROPERTY = n(RDFS.subClassOf), n(RDFS.subPropertyOf)
        self.DOMAIN, self.RANGE = n(RDFS.domain), n(RDFS.range)
        self.EQ_CLASS, self.EQ_PROPERTY = n(OWL.equivalentClass), n(OWL.equivalentProperty)
        self.INVERSE, self.DISJOINT = n(OWL.inverseOf), n(OWL.disjointWith)
        self.ONE_OF = n(OWL.oneOf)
        self.CLASS, self.THING, self.NOTHING = n(OWL.Class), n(OWL.Thing), n(OWL.Nothing)
        self.FIRST, self.REST = n(RDF.first), n(RDF.rest)
        self.PROPERTY_TYPES = (n(OWL.ObjectProperty), n(OWL.DatatypeProperty), n(RDF.Property))
        self.FUNCTIONAL, self.SYMMETRIC = n(OWL.FunctionalProperty), n(OWL.SymmetricProperty)
        self.TRANSITIVE = n(OWL.TransitiveProperty)
        self.OTHER_PREDICATES = {n(p) for p in _OTHER_RULES["predicates"]}
        self.OTHER_TYPES = {n(t) for t in _OTHER_RULES["types"]}
        self.add_all((n(s), n(p), n(o)) for s, p, o in graph)
        self.add_all(self._one_time_rules(graph))
        while self.add_all(self._round()):
            pass
        self._refuse_other_rules()

    def number(self, term: Node) -> int:
        """Return the number of a term, numbering it if it is new."""
        number = self.numbers.get(term)
        if number is None:
            number = self.numbers[term] = len(self.terms)
            self.terms.append(term)
            if isinstance(term, Literal):
                self.literals.add(number)
        return number

    def add_all(self, triples: Iterable[tuple[int, int, int]]) -> bool:
        """Add triples (not those with a literal as predicate, which owlrl drops); return
        whether any was new."""
        new = [t for t in set(triples) if t not in self.triples and t[1] not in self.literals]
        for triple in new:
            s, p, o = triple
            self.triples.add(triple)
            self.by_p[p].add((s, o))
            self.by_s[s].add((p, o))
            self.by_o[o].add((s, p))
            self.objects[s, p].add(o)
            self.subjects[p, o].add(s)
        return bool(new)

    # -- rules ---------------------------------------------------------------------------------

    def _one_time_rules(self, graph: Graph) -> list[tuple[int, int, int]]:
        """cls-thing, cls-nothing1, prp-ap, dt-type1, dt-type2 and dt-not-type, as owlrl's
        ``one_time_rules`` applies them to the input graph."""
        from owlrl.AxiomaticTriples import OWLRL_Datatypes_Disjointness
        from owlrl.DatatypeHandling import AltXSDToPYTHON
        from owlrl.OWLRL import OWLRL_Annotation_properties
        from owlrl.XsdDatatypes import OWL_Datatype_Subsumptions, OWL_RL_Datatypes

        n = self.number
        out = [(self.THING, self.TYPE, self.CLASS), (self.NOTHING, self.TYPE, self.CLASS)]
        annotation = n(OWL.AnnotationProperty)
        out += [(n(a), self.TYPE, annotation) for a in OWLRL_Annotation_properties]
        datatypes = set(OWL_RL_Datatypes)
        implicit = {
            o: o.datatype
            for _s, _p, o in graph
            if isinstance(o, Literal) and o.datatype in datatypes
        }
        used = set(implicit.values())
        for literal, datatype in implicit.items():
            out.append((n(literal), self.TYPE, n(datatype)))
            try:
                AltXSDToPYTHON.get(datatype, _identity)(str(literal))
            except ValueError:
                self.errors.add(
                    f"Lexical value of the literal '{literal}' does not match its datatype "
                    f"({datatype})"
                )
        explicit: dict[Node, set[Node]] = defaultdict(set)
        for s, _p, o in graph.triples((None, RDF.type, None)):
            if o in datatypes:
                used.add(o)
                if s not in implicit:
                    explicit[s].add(o)
        for s, _p, o in graph.triples((None, OWL.sameAs, None)):
            # owlrl's result would depend on the order it reads these in: leave it to owlrl.
            if o in implicit or o in explicit or s in explicit:
                raise _LeftToOwlrl
        datatype_class = n(RDFS.Datatype)
        out += [(n(d), self.TYPE, datatype_class) for d in OWL_RL_Datatypes]
        out += [(n(d), self.TYPE, datatype_class) for ds in explicit.values() for d in ds]
        for resource, datatype in [(r, d) for r, ds in explicit.items() for d in ds] + list(
            implicit.items()
        ):
            for wider in OWL_Datatype_Subsumptions.get(datatype, ()):
                out += [(n(resource), self.TYPE, n(wider)), (n(wider), self.TYPE, datatype_class)]
                used.add(wider)
        out += [
            (n(a), n(p), n(b))
            for a, p, b in OWLRL_Datatypes_Disjointness
            if a in used and b in used
        ]
        return out

    def _round(self) -> Iterable[tuple[int, int, int]]:
        """Apply every rule of :data:`_FAST_RULES` once to the whole closure."""
        by_p, objects, subjects = self.by_p, self.objects, self.subjects
        TYPE, SAME = self.TYPE, self.SAME
        SUBCLASS, SUBPROPERTY = self.SUBCLASS, self.SUBPROPERTY
        EQ_CLASS, EQ_PROPERTY = self.EQ_CLASS, self.EQ_PROPERTY
        # eq-ref: every term of the closure is the same as itself.
        terms = {t for s, p, o in self.triples for t in (s, p, o)} - self.reflexive
        self.reflexive |= terms
        yield from ((t, SAME, t) for t in terms)
        # prp-dom, prp-rng
        for p, c in by_p[self.DOMAIN]:
            yield from ((x, TYPE, c) for x, _y in by_p.get(p, ()))
        for p, c in by_p[self.RANGE]:
            yield from ((y, TYPE, c) for _x, y in by_p.get(p, ()))
        # prp-fp, prp-symp, prp-trp
        for p in subjects[TYPE, self.FUNCTIONAL]:
            for x, y1 in by_p.get(p, ()):
                yield from ((y1, SAME, y2) for y2 in objects[x, p] if y1 != y2)
        for p in subjects[TYPE, self.SYMMETRIC]:
            yield from ((y, p, x) for x, y in by_p.get(p, ()))
        for p in subjects[TYPE, self.TRANSITIVE]:
            for x, y in by_p.get(p, ()):
                yield from ((x, p, z) for z in objects.get((y, p), ()))
        # prp-spo1, prp-eqp1, prp-eqp2, prp-inv1, prp-inv2
        for p1, p2 in by_p[SUBPROPERTY]:
            yield from ((x, p2, y) for x, y in by_p.get(p1, ()))
        for p1, p2 in by_p[EQ_PROPERTY]:
            if p1 != p2:
                yield from ((x, p2, y) for x, y in by_p.get(p1, ()))
                yield from ((x, p1, y) for x, y in by_p.get(p2, ()))
        for p1, p2 in by_p[self.INVERSE]:
            yield from ((y, p2, x) for x, y in by_p.get(p1, ()))
            yield from ((y, p1, x) for x, y in by_p.get(p2, ()))
        # eq-sym, eq-trans, eq-rep-s, eq-rep-p, eq-rep-o (a term's sameAs itself adds nothing)
        for s, o in by_p[SAME]:
            if s == o:
                continue
            yield (o, SAME, s)
            yield from ((s, SAME, z) for z in objects.get((o, SAME), ()))
            yield from ((o, p, v) for p, v in self.by_s.get(s, ()))
            yield from ((x, o, v) for x, v in by_p.get(s, ()))
            yield from ((x, p, s) for x, p in self.by_o.get(o, ()))
        # cls-oo
        for c, items in by_p[self.ONE_OF]:
            yield from ((y, TYPE, c) for y in self._list(items))
        # cax-sco, cax-eqc1, cax-eqc2
        for c1, c2 in by_p[SUBCLASS]:
            if c1 != c2:
                yield from ((x, TYPE, c2) for x in subjects.get((TYPE, c1), ()))
        for c1, c2 in by_p[EQ_CLASS]:
            if c1 != c2:
                yield from ((x, TYPE, c2) for x in subjects.get((TYPE, c1), ()))
                yield from ((x, TYPE, c1) for x in subjects.get((TYPE, c2), ()))
        # scm-cls
        for c in subjects[TYPE, self.CLASS]:
            yield from ((c, SUBCLASS, c), (c, EQ_CLASS, c), (c, SUBCLASS, self.THING))
            yield (self.NOTHING, SUBCLASS, c)
        # scm-sco, scm-eqc2, scm-eqc1
        for c1, c2 in by_p[SUBCLASS]:
            if c1 != c2:
                yield from (
                    (c1, SUBCLASS, c3) for c3 in objects.get((c2, SUBCLASS), ()) if c1 != c3
                )
            if (c2, SUBCLASS, c1) in self.triples:
                yield (c1, EQ_CLASS, c2)
        for c1, c2 in by_p[EQ_CLASS]:
            if c1 != c2:
                yield from ((c1, SUBCLASS, c2), (c2, SUBCLASS, c1))
        # scm-op, scm-dp (and rdf:Property, as owlrl does)
        for kind in self.PROPERTY_TYPES:
            for p in subjects.get((TYPE, kind), ()):
                yield from ((p, SUBPROPERTY, p), (p, EQ_PROPERTY, p))
        # scm-spo, scm-eqp2, scm-eqp1
        for p1, p2 in by_p[SUBPROPERTY]:
            if p1 != p2:
                yield from (
                    (p1, SUBPROPERTY, p3) for p3 in objects.get((p2, SUBPROPERTY), ()) if p1 != p3
                )
                if (p2, SUBPROPERTY, p1) in self.triples:
                    yield (p1, EQ_PROPERTY, p2)
        for p1, p2 in by_p[EQ_PROPERTY]:
            if p1 != p2:
                yield from ((p1, SUBPROPERTY, p2), (p2, SUBPROPERTY, p1))
        # scm-dom1, scm-dom2, scm-rng1, scm-rng2
        for axiom in (self.DOMAIN, self.RANGE):
            for p, c1 in by_p[axiom]:
                yield from ((p, axiom, c2) for c2 in objects.get((c1, SUBCLASS), ()) if c1 != c2)
                yield from ((p1, axiom, c1) for p1 in subjects.get((SUBPROPERTY, p), ()) if p1 != p)

    def _list(self, head: int) -> list[int]:
        """The members of an RDF list, as rdflib's ``Graph.items`` reads it for owlrl."""
        items, seen, node = [], {head}, head
        while True:
            firsts, rests = (
                self.objects.get((node, self.FIRST), ()),
                self.objects.get((node, self.REST), ()),
            )
            if len(firsts) > 1 or len(rests) > 1:
                raise _LeftToOwlrl  # rdflib would pick one of them, whichever it met first
            items += firsts
            if not rests:
                return items
            (node,) = rests
            if not self.terms[node]:  # rdflib stops at a term that is false, such as ""
                return items
            if node in seen:
                raise _LeftToOwlrl  # rdflib raises an error on a cyclic list
            seen.add(node)

    def _refuse_other_rules(self) -> None:
        if any(self.by_p.get(p) for p in self.OTHER_PREDICATES) or any(
            self.subjects.get((self.TYPE, t)) for t in self.OTHER_TYPES
        ):
            raise _LeftToOwlrl

    # -- the inconsistencies ---------------------------------------------------------------------

    def inconsistencies(self) -> list[str]:
        """Return owlrl's messages for the closure (eq-diff1, cls-nothing2, cax-dw, dt-not-type)
        and a line per member of ``owl:Nothing``, sorted."""
        term, triples = self.terms.__getitem__, self.triples
        errors = set(self.errors)
        for s, o in self.by_p[self.SAME]:
            if (s, self.DIFFERENT, o) in triples or (o, self.DIFFERENT, s) in triples:
                errors.add(
                    "'sameAs' and 'differentFrom' cannot be used on the same subject-object "
                    f"pair: ({term(s)}, {term(o)})"
                )
        for c in self.subjects[self.TYPE, self.NOTHING]:
            errors.add(f"{term(c)} is defined of type 'Nothing'")
            errors.add(f"{term(c)} is a member of owl:Nothing")
        for c1, c2 in self.by_p[self.DISJOINT]:
            common = self.subjects.get((self.TYPE, c1), set()) & self.subjects.get(
                (self.TYPE, c2), set()
            )
            errors.update(
                f"Disjoint classes {term(c1)} and {term(c2)} have a common individual {term(x)}"
                for x in common
            )
        return sorted(errors)
