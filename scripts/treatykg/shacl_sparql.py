"""SHACL validation compiled to SPARQL and run on pyoxigraph: the fast engine of ``validate``.

The shapes (an rdflib graph: a few thousand triples at most) are compiled into SPARQL SELECT
queries whose rows are the violations; the data sits in a pyoxigraph store, which answers them
in native code. pyshacl, the reference engine, instead runs Python code per focus node and one
rdflib SPARQL query per focus node and SPARQL-based constraint. The results are the same
(``tests/test_engines.py`` compares the two on the project's graph and on every shape fixture).

How a shape becomes queries:

- its targets (``sh:targetClass`` following ``rdfs:subClassOf*`` in the data, ``sh:targetNode``,
  ``sh:targetSubjectsOf``, ``sh:targetObjectsOf``, SPARQL-based targets, implicit class targets)
  become one sub-select binding ``?this``, which every query of the shape starts with;
- the constraints on each value node (``sh:class``, ``sh:datatype``, ``sh:nodeKind``,
  ``sh:pattern``, ``sh:languageIn``, ``sh:in``, ``sh:min/maxInclusive/Exclusive``,
  ``sh:min/maxLength``, ``sh:node``, ``sh:or``, ``sh:and``, ``sh:not``, ``sh:xone``) become
  boolean SPARQL expressions; those of one shape share one query, and a row names the value and
  which of them it fails;
- ``sh:minCount``, ``sh:maxCount``, ``sh:qualifiedMin/MaxCount`` and ``sh:uniqueLang`` become
  grouped counts (the bounds on one set of values share one; a lone minimum of one is a
  ``NOT EXISTS``), ``sh:hasValue`` a ``NOT EXISTS``;
- where several of these queries need a node shape's focus nodes, they are found once, written
  into a named graph of the store, and read from there (see :meth:`Compiler.run`);
- a SPARQL-based constraint (``sh:sparql``) is run once, with the target pattern put at the start
  of its WHERE clause, instead of once per focus node with ``$this`` pre-bound. The SHACL rules
  for pre-binding (no MINUS, VALUES, SERVICE or ``AS $this``; sub-selects project ``$this``)
  make the two the same.

What it does not compile raises :class:`Unsupported`; ``validate`` then runs pyshacl instead.
That is: ``sh:equals``, ``sh:disjoint``, ``sh:lessThan(OrEquals)``, ``sh:closed``,
``sh:qualifiedValueShapesDisjoint``, SPARQL-based constraints on property shapes or inside
nested shapes, ``$shapesGraph``/``$currentShape``, custom constraint components, SHACL rules.

Literals: Oxigraph stores typed literals by value, so ``"5"^^xsd:nonNegativeInteger`` comes
back as ``"5"^^xsd:integer`` and ``"012"^^xsd:integer`` as ``"12"``. The loader therefore keeps
aside every literal that the store would not keep as written, and every ill-typed one
(:class:`LiteralNotes`); the constraints on such a value are evaluated in Python on the literal
as written, and results name it as written.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, MutableSequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import pyoxigraph as ox
from rdflib import RDF, RDFS, BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

SH = Namespace("http://www.w3.org/ns/shacl#")
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_LANGSTRING = str(RDF.langString)

#: Parameters whose constraints this engine does not compile (the run falls back to pyshacl).
UNSUPPORTED_PARAMETERS = {
    SH.equals,
    SH.disjoint,
    SH.lessThan,
    SH.lessThanOrEquals,
    SH.closed,
    SH.qualifiedValueShapesDisjoint,
    SH.rule,
    SH.js,
    SH.expression,
}

_VALUE_PARAMETERS = {
    SH["class"]: "ClassConstraintComponent",
    SH.datatype: "DatatypeConstraintComponent",
    SH.nodeKind: "NodeKindConstraintComponent",
    SH.pattern: "PatternConstraintComponent",
    SH.languageIn: "LanguageInConstraintComponent",
    SH["in"]: "InConstraintComponent",
    SH.minInclusive: "MinInclusiveConstraintComponent",
    SH.maxInclusive: "MaxInclusiveConstraintComponent",
    SH.minExclusive: "MinExclusiveConstraintComponent",
    SH.maxExclusive: "MaxExclusiveConstraintComponent",
    SH.minLength: "MinLengthConstraintComponent",
    SH.maxLength: "MaxLengthConstraintComponent",
    SH.node: "NodeConstraintComponent",
    SH["or"]: "OrConstraintComponent",
    SH["and"]: "AndConstraintComponent",
    SH["not"]: "NotConstraintComponent",
    SH.xone: "XoneConstraintComponent",
}
"""Constraint parameters checked on each value node on its own, and their components."""

# Value constraints whose verdict on a literal depends on how the literal is written (its
# datatype or lexical form), which the store may have changed: see LiteralNotes.
_LITERAL_SENSITIVE = {
    SH.datatype,
    SH.pattern,
    SH["in"],
    SH.hasValue,
    SH.minInclusive,
    SH.maxInclusive,
    SH.minExclusive,
    SH.maxExclusive,
    SH.minLength,
    SH.maxLength,
}

_NODE_KINDS = {
    SH.IRI: "isIRI({v})",
    SH.BlankNode: "isBlank({v})",
    SH.Literal: "isLiteral({v})",
    SH.BlankNodeOrIRI: "!isLiteral({v})",
    SH.BlankNodeOrLiteral: "!isIRI({v})",
    SH.IRIOrLiteral: "!isBlank({v})",
}


class Unsupported(Exception):
    """The shapes use a SHACL feature this engine does not compile (``str`` names it)."""


# --- terms --------------------------------------------------------------------------------


def sparql_term(term: Node) -> str:
    """Return an rdflib term as SPARQL text (IRIs ``<…>``, literals quoted and escaped)."""
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, Literal):
        text = sparql_string(str(term))
        if term.language:
            return f"{text}@{term.language}"
        if term.datatype is not None:
            return f"{text}^^<{term.datatype}>"
        return text
    raise Unsupported("a blank node as a constraint value")


def sparql_string(text: str) -> str:
    """Return a SPARQL string literal for ``text``."""
    escaped = (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f'"{escaped}"'


def to_ox(term: Node) -> ox.NamedNode | ox.Literal:
    """Convert an rdflib IRI or literal to pyoxigraph."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise Unsupported("a blank node as a constraint value")


# --- literals the store does not keep as written ------------------------------------------


NOTED_VALUES = 500
"""Up to this many noted literals, a shape's noted values are found by joining them with the
values on its path (``VALUES``); past it, by reading the values of the datatypes they have."""

NOTES_THRESHOLD = 100_000
"""Past this many literals noted, :class:`LiteralNotes` keeps them in a database on disk
(:class:`SpilledNotes`) instead of in memory, where each took about 0.8 KB."""


@dataclass
class LiteralNotes:
    """Typed literals the store changed (canonical form, base datatype) or that are ill-typed.

    ``by_stored`` maps a literal as stored to the ``(subject, predicate, literal as written)``
    triples it stands for (a dict, or past :data:`NOTES_THRESHOLD` entries a
    :class:`SpilledNotes` with the same reading methods). The triples whose literal is not in
    its datatype's lexical space (by rdflib's reading of XSD, the one pyshacl uses) are noted
    too, each once, in the order first seen (:meth:`ill_typed`): in memory, or past
    :data:`NOTES_THRESHOLD` of them in the same database. Call :meth:`close` when done (the
    database on disk goes).
    """

    by_stored: dict[ox.Literal, list[tuple[object, ox.NamedNode, ox.Literal]]] = field(
        default_factory=dict
    )
    datatypes: set[str] = field(default_factory=set)
    """The datatypes of the literals as stored."""
    _ill: dict | SpilledNotes = field(default_factory=dict)
    _count: int = 0

    def __bool__(self) -> bool:
        return bool(self.by_stored)

    def add(
        self, stored: ox.Literal, entry: tuple[object, ox.NamedNode, ox.Literal], ill: bool = False
    ) -> None:
        """Note that ``entry``'s literal is stored as ``stored`` (and, if ``ill``, that it is
        ill-typed)."""
        self.datatypes.add(stored.datatype.value)
        if isinstance(self.by_stored, dict):
            self.by_stored.setdefault(stored, []).append(entry)
            self._count += 1
            if self._count > NOTES_THRESHOLD:
                self._spill()
        else:
            self.by_stored.add(stored, entry)
        if ill:
            if isinstance(self._ill, dict):
                self._ill[entry] = None
                if len(self._ill) > NOTES_THRESHOLD:
                    spilled = self._spill()
                    spilled.add_ill(self._ill)
                    self._ill = spilled
            else:
                self._ill.add_ill((entry,))

    def _spill(self) -> SpilledNotes:
        """Move the notes into a database on disk (once); return it."""
        if isinstance(self.by_stored, dict):
            spilled = SpilledNotes()
            for key, entries in self.by_stored.items():
                for held in entries:
                    spilled.add(key, held)
            self.by_stored = spilled  # type: ignore[assignment]
        return self.by_stored  # type: ignore[return-value]

    def ill_typed(self) -> tuple[int, Iterator[tuple[object, ox.NamedNode, ox.Literal]]]:
        """How many ill-typed literals were noted, and their (subject, predicate, literal as
        written) triples, each once, in the order first seen (read from disk a page at a time
        where they are there)."""
        if isinstance(self._ill, dict):
            return len(self._ill), iter(list(self._ill))
        return self._ill.ill_count(), self._ill.ill_entries()

    def close(self) -> None:
        """Remove the notes' database on disk, if they have one."""
        if isinstance(self.by_stored, SpilledNotes):
            self.by_stored.close()

    def written(self, subject: object, stored: object, predicate: object = None) -> object:
        """Return the literal as written for ``stored`` seen from ``subject`` (or ``stored``)."""
        if not isinstance(stored, ox.Literal):
            return stored
        for s, p, original in self.by_stored.get(stored, ()):
            if s == subject and (predicate is None or p == predicate):
                return original
        return stored


class SpilledNotes:
    """:attr:`LiteralNotes.by_stored` in an SQLite database (stdlib ``sqlite3``) in a private
    temporary folder (:func:`treatykg.tempfiles.private_dir`): ``in``, ``get``, ``[]``,
    ``len`` and iteration over the literals as stored, as a dict has them. Written by one
    thread (the loader), read by several (the checkers) once written. The folder is removed by
    :meth:`close`, when the object is collected, at the process's exit, or, after a
    ``kill -9``, by the next treatykg command."""

    def __init__(self) -> None:
        from treatykg import tempfiles

        self.folder, self._db, self._finalizer = tempfiles.private_database(
            self,
            "notes.sqlite3",
            "the data has too many literals kept as written to note in memory",
        )
        self._db.executescript(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
            "CREATE TABLE stored (id INTEGER PRIMARY KEY, key TEXT UNIQUE, value, datatype,"
            " lang);"
            "CREATE TABLE entries (stored INTEGER, blank INTEGER, subject, predicate, value,"
            " datatype, lang);"
            "CREATE TABLE ill (blank INTEGER, subject, predicate, value, datatype, lang,"
            " UNIQUE (subject, predicate, value, datatype, lang, blank));"
        )
        self._lock = threading.Lock()
        self._pending: list[tuple] = []
        self._pending_ill: list[tuple] = []
        self._indexed = False

    def add(self, stored: ox.Literal, entry: tuple[object, ox.NamedNode, ox.Literal]) -> None:
        subject, predicate, original = entry
        self._pending.append(
            (
                str(stored), *_literal_parts(stored),
                type(subject) is ox.BlankNode, subject.value, predicate.value,
                *_literal_parts(original),
            )
        )  # fmt: skip
        if len(self._pending) >= 10_000:
            with self._lock:
                self._flush()

    def add_ill(self, entries: Iterable[tuple[object, ox.NamedNode, ox.Literal]]) -> None:
        """Note ill-typed triples (each kept once, in the order first seen)."""
        for subject, predicate, literal in entries:
            value, datatype, lang = _literal_parts(literal)
            # "" for none: a UNIQUE constraint holds NULLs distinct.
            self._pending_ill.append(
                (type(subject) is ox.BlankNode, subject.value, predicate.value, value,
                 datatype or "", lang or "")
            )  # fmt: skip
            if len(self._pending_ill) >= 10_000:
                with self._lock:
                    self._flush()

    def ill_count(self) -> int:
        return self._read("SELECT COUNT(*) FROM ill")[0][0]

    def ill_entries(self) -> Iterator[tuple[object, ox.NamedNode, ox.Literal]]:
        """The ill-typed triples in the order first seen, a page of rows at a time."""
        last = 0
        while rows := self._read(
            "SELECT rowid, blank, subject, predicate, value, datatype, lang FROM ill"
            " WHERE rowid > ? ORDER BY rowid LIMIT 10000",
            (last,),
        ):
            last = rows[-1][0]
            for _rowid, blank, subject, predicate, value, datatype, lang in rows:
                yield (
                    ox.BlankNode(subject) if blank else ox.NamedNode(subject),
                    ox.NamedNode(predicate),
                    _literal(value, datatype or None, lang or None),
                )

    def _flush(self) -> None:
        if self._pending_ill:
            with self._db:
                self._db.executemany(
                    "INSERT OR IGNORE INTO ill VALUES (?,?,?,?,?,?)", self._pending_ill
                )
            self._pending_ill = []
        if not self._pending:
            return
        with self._db:
            self._db.executemany(
                "INSERT OR IGNORE INTO stored (key, value, datatype, lang) VALUES (?,?,?,?)",
                (row[:4] for row in self._pending),
            )
            self._db.executemany(
                "INSERT INTO entries SELECT id, ?, ?, ?, ?, ?, ? FROM stored WHERE key = ?",
                ((*row[4:], row[0]) for row in self._pending),
            )
        self._pending = []

    def _read(self, query: str, args: tuple = ()) -> list:
        with self._lock:
            self._flush()
            if not self._indexed:
                self._db.execute("CREATE INDEX IF NOT EXISTS by_stored ON entries (stored)")
                self._indexed = True
            return self._db.execute(query, args).fetchall()

    def get(self, stored: object, default: object = None) -> object:
        if not isinstance(stored, ox.Literal):
            return default
        rows = self._read(
            "SELECT blank, subject, predicate, e.value, e.datatype, e.lang FROM stored s "
            "JOIN entries e ON e.stored = s.id WHERE s.key = ? ORDER BY e.rowid",
            (str(stored),),
        )
        if not rows:
            return default
        return [
            (
                ox.BlankNode(subject) if blank else ox.NamedNode(subject),
                ox.NamedNode(predicate),
                _literal(value, datatype, lang),
            )
            for blank, subject, predicate, value, datatype, lang in rows
        ]

    def __getitem__(self, stored: object) -> list:
        entries = self.get(stored)
        if entries is None:
            raise KeyError(stored)
        return entries

    def __contains__(self, stored: object) -> bool:
        return isinstance(stored, ox.Literal) and bool(
            self._read("SELECT 1 FROM stored WHERE key = ?", (str(stored),))
        )

    def __len__(self) -> int:
        return self._read("SELECT COUNT(*) FROM stored")[0][0]

    def __bool__(self) -> bool:
        return True  # made for more than NOTES_THRESHOLD notes

    def chunks(self, size: int) -> Iterator[list[ox.Literal]]:
        """The literals as stored, ``size`` at a time (a page of rows at a time)."""
        last = 0
        while rows := self._read(
            "SELECT id, value, datatype, lang FROM stored WHERE id > ? ORDER BY id LIMIT ?",
            (last, size),
        ):
            last = rows[-1][0]
            yield [_literal(value, datatype, lang) for _id, value, datatype, lang in rows]

    def __iter__(self) -> Iterator[ox.Literal]:
        for chunk in self.chunks(10_000):
            yield from chunk

    def close(self) -> None:
        """Remove the database and its folder."""
        self._finalizer()


def _literal_parts(literal: ox.Literal) -> tuple[str, str | None, str | None]:
    if literal.language:
        return literal.value, None, literal.language
    return literal.value, literal.datatype.value, None


def _literal(value: str, datatype: str | None, lang: str | None) -> ox.Literal:
    if lang:
        return ox.Literal(value, language=lang)
    return ox.Literal(value, datatype=ox.NamedNode(datatype))


_PLAIN_DATATYPES = {XSD + "string", RDF_LANGSTRING}


class LiteralChecker:
    """Sorts the typed literals of a stream of quads into :class:`LiteralNotes`.

    A literal's fate is decided once per distinct literal: ill-typed (rdflib's
    ``Literal.ill_typed``), or kept as written by the store (a round trip through a scratch
    store, in batches). The verdicts are kept for :data:`MAX_VERDICTS` distinct literals at
    most (then forgotten, and decided again if they come back): data with millions of distinct
    typed literals took 320 MB for 1M of them when they were all kept.
    """

    MAX_VERDICTS = 200_000

    def __init__(self) -> None:
        self.notes = LiteralNotes()
        self._verdicts: dict[ox.Literal, tuple[bool, ox.Literal | None]] = {}
        self._pending: list[ox.Quad] = []
        self._predicates: dict[ox.NamedNode, ox.NamedNode] = {}

    def add(self, quad: ox.Quad, obj: ox.Literal | None = None) -> None:
        """Look at one quad (call :meth:`flush` at the end); ``obj`` is its object, if the
        caller has it already."""
        if obj is None:
            obj = quad.object
        if type(obj) is ox.Literal and obj.datatype.value not in _PLAIN_DATATYPES:
            verdict = self._verdicts.get(obj)
            if verdict is None:
                self._pending.append(quad)
                if len(self._pending) >= 50_000:
                    self.flush()
            elif verdict[1] is not None:
                self._note(quad, verdict)

    def flush(self) -> None:
        """Decide the pending literals and note those the store changes or that are ill-typed."""
        if not self._pending:
            return
        if len(self._verdicts) > self.MAX_VERDICTS:
            self._verdicts.clear()
        new = list({q.object: None for q in self._pending if q.object not in self._verdicts})
        if new:
            scratch = ox.Store()
            scratch.extend(
                ox.Quad(ox.NamedNode(f"urn:x:{i}"), ox.NamedNode("urn:p"), literal)
                for i, literal in enumerate(new)
            )
            stored: dict[int, ox.Literal] = {}
            for quad in scratch:
                stored[int(quad.subject.value[6:])] = quad.object
            for i, literal in enumerate(new):
                ill = _ill_typed(literal)
                kept = stored.get(i)
                # (ill-typed, stored form) — stored None: kept as written and well-typed.
                if ill or kept != literal:
                    self._verdicts[literal] = (ill, kept if kept is not None else literal)
                else:
                    self._verdicts[literal] = (False, None)
        for quad in self._pending:
            verdict = self._verdicts[quad.object]
            if verdict[1] is not None:
                self._note(quad, verdict)
        self._pending = []

    def _note(self, quad: ox.Quad, verdict: tuple[bool, ox.Literal | None]) -> None:
        ill, stored = verdict
        # One object per predicate (there are few): a million notes took 876 MB, now 785.
        predicate = self._predicates.setdefault(quad.predicate, quad.predicate)
        self.notes.add(stored, (quad.subject, predicate, quad.object), ill)


def _ill_typed(literal: ox.Literal) -> bool:
    return bool(rdflib_literal(literal).ill_typed)


def rdflib_literal(literal: ox.Literal) -> Literal:
    """Return the rdflib literal for a pyoxigraph literal (as written)."""
    if literal.language:
        return Literal(literal.value, lang=literal.language)
    datatype = literal.datatype.value
    if datatype == XSD + "string":
        return Literal(literal.value)
    return Literal(literal.value, datatype=URIRef(datatype))


# --- compiled shapes ----------------------------------------------------------------------


@dataclass
class ValueCheck:
    """One constraint checked on each value node: its SPARQL test and its Python twin."""

    component: str
    sparql: Callable[[str], str]
    """SPARQL boolean expression, true when the value (a variable name) conforms."""
    python: Callable[[Node], bool] | None
    """The same test on an rdflib literal (None: not decidable on a literal alone)."""
    sensitive: bool
    """Whether the verdict on a literal depends on how it is written."""
    constraint: Node | None = None


@dataclass
class CompiledShape:
    """A shape, with what it checks (a node shape: on its focus; a property shape: its values)."""

    node: Node
    path: Node | None
    path_sparql: str | None
    severity: URIRef
    messages: list[Literal]
    value_checks: list[ValueCheck] = field(default_factory=list)
    counts: list[tuple[str, str, int, Node | None]] = field(default_factory=list)
    """(component, kind, bound, qualified shape): kind min, max, qmin, qmax."""
    unique_lang: bool = False
    has_values: list[Node] = field(default_factory=list)
    sparql: list[tuple[Node, str, list[Literal]]] = field(default_factory=list)
    properties: list[CompiledShape] = field(default_factory=list)
    deactivated: bool = False

    @property
    def compiled_queries(self) -> bool:
        """Whether checking this shape runs queries compiled from its parameters."""
        return bool(self.value_checks or self.counts or self.unique_lang or self.has_values)

    @property
    def queries(self) -> bool:
        """Whether checking this shape (not its property shapes) runs any query."""
        return self.compiled_queries or any(text for _c, text, _m in self.sparql)


@dataclass(slots=True)
class RawResult:
    """A validation result as found (terms are rdflib terms; the path an rdflib path node)."""

    focus: Node
    path: Node | None
    value: Node | None
    messages: list[Literal]
    severity: URIRef
    shape: Node | None
    component: URIRef
    source_constraint: Node | None = None


class Compiler:
    """Compiles the shapes of a shapes graph; :meth:`run` validates a store with them."""

    def __init__(self, shapes: Graph) -> None:
        self.g = shapes
        self._ids = itertools.count(1)
        self._prefixes: dict[str, str] = {}
        self._nested_cache: dict[Node, tuple[Callable[[str], str], Callable | None, bool]] = {}
        self._in_progress: set[Node] = set()
        self.targeted: list[tuple[CompiledShape, str]] = []
        self.prefixes: dict[str, str] = {}
        """The prefixes of SPARQL-based targets and constraints: every query declares them."""
        self._check_unsupported()
        for shape in self._targeted_shapes():
            target = self._target_pattern(shape)
            self.targeted.append((self._compile_shape(shape), target))
        self.prologue = _prologue_text(self.prefixes)

    # -- discovery ------------------------------------------------------------------------

    def _check_unsupported(self) -> None:
        for parameter in UNSUPPORTED_PARAMETERS:
            for _s, _o in self.g.subject_objects(parameter):
                raise Unsupported(f"sh:{parameter.removeprefix(str(SH))}")
        for _s in self.g.subjects(RDF.type, SH.ConstraintComponent):
            raise Unsupported("custom constraint components")
        for _s, _o in self.g.subject_objects(SH.ask):
            raise Unsupported("sh:ask")

    def _targeted_shapes(self) -> list[Node]:
        g = self.g
        shapes = set()
        for predicate in (
            SH.targetClass,
            SH.targetNode,
            SH.targetSubjectsOf,
            SH.targetObjectsOf,
            SH.target,
        ):
            shapes.update(g.subjects(predicate, None))
        # Implicit class targets: a shape that is also a class.
        for kind in (SH.NodeShape, SH.PropertyShape):
            for shape in g.subjects(RDF.type, kind):
                if (shape, RDF.type, RDFS.Class) in g or (
                    shape,
                    RDF.type,
                    URIRef("http://www.w3.org/2002/07/owl#Class"),
                ) in g:
                    shapes.add(shape)
        return sorted(shapes, key=str)

    def _is_class_shape(self, shape: Node) -> bool:
        g = self.g
        return (shape, RDF.type, RDFS.Class) in g or (
            shape,
            RDF.type,
            URIRef("http://www.w3.org/2002/07/owl#Class"),
        ) in g

    def _var(self, stem: str = "x") -> str:
        return f"?_{stem}{next(self._ids)}"  # next() on a count is atomic: threads may ask

    # -- prefixes and SPARQL text ----------------------------------------------------------

    def _declared_prefixes(self, node: Node) -> dict[str, str]:
        prefixes: dict[str, str] = {}
        for owner in self.g.objects(node, SH.prefixes):
            for declaration in self.g.objects(owner, SH.declare):
                prefix = self.g.value(declaration, SH.prefix)
                namespace = self.g.value(declaration, SH.namespace)
                if prefix is not None and namespace is not None:
                    prefixes[str(prefix)] = str(namespace)
        return prefixes

    def _use_prefixes(self, prefixes: dict[str, str]) -> None:
        for prefix, namespace in prefixes.items():
            if self.prefixes.setdefault(prefix, namespace) != namespace:
                raise Unsupported(f"the prefix {prefix}: declared with two namespaces")

    # -- targets ---------------------------------------------------------------------------

    def _target_pattern(self, shape: Node) -> str:
        g = self.g
        parts = []
        for cls in sorted(g.objects(shape, SH.targetClass), key=str):
            parts.append(f"?this <{RDF.type}>/<{RDFS.subClassOf}>* {sparql_term(cls)} .")
        if self._is_class_shape(shape):
            parts.append(f"?this <{RDF.type}>/<{RDFS.subClassOf}>* {sparql_term(shape)} .")
        nodes = sorted(g.objects(shape, SH.targetNode), key=str)
        if nodes:
            parts.append("VALUES ?this { " + " ".join(sparql_term(n) for n in nodes) + " }")
        for predicate in sorted(g.objects(shape, SH.targetSubjectsOf), key=str):
            parts.append(f"?this {sparql_term(predicate)} ?_any .")
        for predicate in sorted(g.objects(shape, SH.targetObjectsOf), key=str):
            parts.append(f"?_any {sparql_term(predicate)} ?this .")
        for target in g.objects(shape, SH.target):
            select = g.value(target, SH.select)
            if select is None:
                raise Unsupported("a custom target (sh:target without sh:select)")
            parts.append(self._embed_select(target, str(select)))
        union = " UNION ".join("{ " + part + " }" for part in parts)
        return "{ SELECT DISTINCT ?this WHERE { " + union + " } }"

    def _embed_select(self, node: Node, select: str) -> str:
        """Return a SELECT query as a sub-select (its prefixes join the queries' prologue)."""
        prefixes = self._declared_prefixes(node)
        body = _strip_prologue(select, prefixes)
        self._use_prefixes(prefixes)
        return "{ " + body + " }"

    # -- shapes ----------------------------------------------------------------------------

    def _path_sparql(self, path: Node) -> str:
        g = self.g
        if isinstance(path, URIRef):
            return f"<{path}>"
        if (path, RDF.first, None) in g:
            return "(" + "/".join(self._path_sparql(p) for p in Collection(g, path)) + ")"
        for predicate, template in (
            (SH.inversePath, "^({})"),
            (SH.zeroOrMorePath, "({})*"),
            (SH.oneOrMorePath, "({})+"),
            (SH.zeroOrOnePath, "({})?"),
        ):
            inner = g.value(path, predicate)
            if inner is not None:
                return template.format(self._path_sparql(inner))
        alternatives = g.value(path, SH.alternativePath)
        if alternatives is not None:
            return "(" + "|".join(self._path_sparql(p) for p in Collection(g, alternatives)) + ")"
        raise Unsupported("an unknown kind of property path")

    def _compile_shape(self, shape: Node) -> CompiledShape:
        g = self.g
        path = g.value(shape, SH.path)
        deactivated = g.value(shape, SH.deactivated)
        compiled = CompiledShape(
            node=shape,
            path=path,
            path_sparql=None if path is None else self._path_sparql(path),
            severity=g.value(shape, SH.severity) or SH.Violation,
            messages=sorted(
                (m for m in g.objects(shape, SH.message) if isinstance(m, Literal)), key=str
            ),
            deactivated=bool(deactivated is not None and deactivated.toPython() is True),
        )
        compiled.value_checks = self._value_checks(shape)
        for parameter, kind, component in (
            (SH.minCount, "min", "MinCountConstraintComponent"),
            (SH.maxCount, "max", "MaxCountConstraintComponent"),
        ):
            for bound in g.objects(shape, parameter):
                if path is None:
                    raise Unsupported(f"sh:{kind}Count on a node shape")
                compiled.counts.append((component, kind, int(bound), None))
        for qualified in g.objects(shape, SH.qualifiedValueShape):
            if path is None:
                raise Unsupported("sh:qualifiedValueShape on a node shape")
            for parameter, kind, component in (
                (SH.qualifiedMinCount, "qmin", "QualifiedMinCountConstraintComponent"),
                (SH.qualifiedMaxCount, "qmax", "QualifiedMaxCountConstraintComponent"),
            ):
                for bound in g.objects(shape, parameter):
                    compiled.counts.append((component, kind, int(bound), qualified))
            self._nested(qualified)  # compiled now: the run may use several threads
        unique = g.value(shape, SH.uniqueLang)
        if unique is not None and unique.toPython() is True:
            if path is None:
                raise Unsupported("sh:uniqueLang on a node shape")
            compiled.unique_lang = True
        compiled.has_values = sorted(g.objects(shape, SH.hasValue), key=str)
        for constraint in sorted(g.objects(shape, SH.sparql), key=str):
            if path is not None:
                raise Unsupported("a SPARQL-based constraint on a property shape")
            compiled.sparql.append(self._sparql_constraint(constraint))
        for prop in sorted(g.objects(shape, SH.property), key=str):
            if path is not None:
                raise Unsupported("sh:property on a property shape")
            compiled.properties.append(self._compile_shape(prop))
            if compiled.properties[-1].properties or compiled.properties[-1].sparql:
                raise Unsupported("nested property shapes")
        return compiled

    def _sparql_constraint(self, constraint: Node) -> tuple[Node, str, list[Literal]]:
        g = self.g
        select = g.value(constraint, SH.select)
        if select is None:
            raise Unsupported("a SPARQL-based constraint without sh:select")
        deactivated = g.value(constraint, SH.deactivated)
        if deactivated is not None and deactivated.toPython() is True:
            return constraint, "", []
        text = str(select)
        if re.search(r"[?$](shapesGraph|currentShape)\b", text):
            raise Unsupported("$shapesGraph or $currentShape in a SPARQL-based constraint")
        prefixes = self._declared_prefixes(constraint)
        body = _strip_prologue(text, prefixes)
        self._use_prefixes(prefixes)
        messages = sorted(
            (m for m in g.objects(constraint, SH.message) if isinstance(m, Literal)), key=str
        )
        return constraint, body, messages

    # -- value checks ------------------------------------------------------------------------

    def _value_checks(self, shape: Node) -> list[ValueCheck]:
        g = self.g
        checks = []
        for parameter, component in _VALUE_PARAMETERS.items():
            for value in sorted(g.objects(shape, parameter), key=str):
                sparql, python, sensitive = self._value_check(shape, parameter, value)
                checks.append(ValueCheck(component, sparql, python, sensitive, value))
        return checks

    def _value_check(
        self, shape: Node, parameter: URIRef, value: Node
    ) -> tuple[Callable[[str], str], Callable[[Node], bool] | None, bool]:
        """Return (SPARQL test, Python test on a literal, literal-sensitive) for a parameter."""
        g = self.g
        sensitive = parameter in _LITERAL_SENSITIVE
        if parameter == SH["class"]:
            cls = sparql_term(value)
            return (
                lambda v: f"EXISTS {{ {v} <{RDF.type}>/<{RDFS.subClassOf}>* {cls} }}",
                lambda _lit: False,
                False,
            )
        if parameter == SH.datatype:
            datatype = str(value)
            if datatype == RDF_LANGSTRING:
                return (lambda v: f'(isLiteral({v}) && lang({v}) != "")', _has_language, False)
            return (
                lambda v: f"(isLiteral({v}) && datatype({v}) = <{datatype}>)",
                lambda lit: _has_datatype(lit, datatype),
                True,
            )
        if parameter == SH.nodeKind:
            if value not in _NODE_KINDS:
                raise Unsupported(f"sh:nodeKind {value}")
            template = _NODE_KINDS[value]
            literal_ok = value in (SH.Literal, SH.BlankNodeOrLiteral, SH.IRIOrLiteral)
            return (lambda v: template.format(v=v), lambda _lit: literal_ok, False)
        if parameter == SH.pattern:
            flags_node = g.value(shape, SH.flags)
            flags = "" if flags_node is None else str(flags_node)
            pattern = str(value)
            sparql_flags = f", {sparql_string(flags)}" if flags else ""
            python_re = re.compile(pattern, _python_flags(flags))
            return (
                lambda v: (
                    f"(!isBlank({v}) && REGEX(STR({v}), {sparql_string(pattern)}{sparql_flags}))"
                ),
                lambda lit: python_re.search(str(lit)) is not None,
                True,
            )
        if parameter == SH.languageIn:
            tags = [str(t) for t in Collection(g, value)]
            return (
                lambda v: (
                    "(isLiteral("
                    + v
                    + ") && ("
                    + " || ".join(f"langMatches(lang({v}), {sparql_string(t)})" for t in tags)
                    + "))"
                    if tags
                    else "false"
                ),
                lambda lit: _language_in(lit, tags),
                False,
            )
        if parameter == SH["in"]:
            members = list(Collection(g, value))
            terms = [sparql_term(m) for m in members]
            return (
                lambda v: (
                    "(" + " || ".join(f"sameTerm({v}, {t})" for t in terms) + ")"
                    if terms
                    else "false"
                ),
                lambda lit: any(lit == m for m in members),
                True,
            )
        if parameter in (SH.minInclusive, SH.maxInclusive, SH.minExclusive, SH.maxExclusive):
            operator = {
                SH.minInclusive: ">=",
                SH.maxInclusive: "<=",
                SH.minExclusive: ">",
                SH.maxExclusive: "<",
            }[parameter]
            bound = sparql_term(value)
            return (
                lambda v: f"COALESCE(({v} {operator} {bound}), false)",
                lambda lit: _compare(lit, operator, value),
                True,
            )
        if parameter in (SH.minLength, SH.maxLength):
            operator = ">=" if parameter == SH.minLength else "<="
            n = int(value)
            return (
                lambda v: f"(!isBlank({v}) && STRLEN(STR({v})) {operator} {n})",
                lambda lit: len(str(lit)) >= n if operator == ">=" else len(str(lit)) <= n,
                True,
            )
        if parameter == SH.node:
            return self._nested(value)
        if parameter in (SH["or"], SH["and"], SH.xone):
            parts = [self._nested(member) for member in Collection(g, value)]
            sensitive = any(p[2] for p in parts)
            pythons = [p[1] for p in parts]
            python = None if any(p is None for p in pythons) else pythons
            if parameter == SH["or"]:
                return (
                    lambda v: "(" + " || ".join(p[0](v) for p in parts) + ")" if parts else "false",
                    None if python is None else (lambda lit: any(f(lit) for f in python)),
                    sensitive,
                )
            if parameter == SH["and"]:
                return (
                    lambda v: "(" + " && ".join(p[0](v) for p in parts) + ")" if parts else "true",
                    None if python is None else (lambda lit: all(f(lit) for f in python)),
                    sensitive,
                )
            return (
                lambda v: (
                    "((" + " + ".join(f"IF({p[0](v)}, 1, 0)" for p in parts) + ") = 1)"
                    if parts
                    else "false"
                ),
                None if python is None else (lambda lit: sum(bool(f(lit)) for f in python) == 1),
                sensitive,
            )
        if parameter == SH["not"]:
            sparql, python, sensitive = self._nested(value)
            return (
                lambda v: f"(!{sparql(v)})",
                None if python is None else (lambda lit: not python(lit)),
                sensitive,
            )
        raise Unsupported(f"{parameter}")  # pragma: no cover - the table above is complete

    def _nested(self, shape: Node) -> tuple[Callable[[str], str], Callable | None, bool]:
        """Return (SPARQL test, Python test, sensitive) for "the value conforms to ``shape``"."""
        if shape in self._nested_cache:
            return self._nested_cache[shape]
        if shape in self._in_progress:
            raise Unsupported("recursive shapes")
        self._in_progress.add(shape)
        g = self.g
        if (shape, SH.sparql, None) in g:
            raise Unsupported("a SPARQL-based constraint in a nested shape")
        tests: list[tuple[Callable[[str], str], Callable | None, bool]] = []
        path = g.value(shape, SH.path)
        if path is None:
            for check in self._value_checks(shape):
                tests.append((check.sparql, check.python, check.sensitive))
            for value in g.objects(shape, SH.hasValue):
                term = sparql_term(value)
                tests.append((lambda v, t=term: f"sameTerm({v}, {t})", None, True))
            for prop in g.objects(shape, SH.property):
                tests.append(self._nested_property(prop))
            for parameter in (SH.minCount, SH.maxCount, SH.uniqueLang, SH.qualifiedValueShape):
                if (shape, parameter, None) in g:
                    raise Unsupported(f"sh:{parameter.removeprefix(str(SH))} on a node shape")
        else:
            tests.append(self._nested_property(shape))
        self._in_progress.discard(shape)

        def sparql(v: str) -> str:
            return "(" + " && ".join(t[0](v) for t in tests) + ")" if tests else "true"

        pythons = [t[1] for t in tests]
        python = (
            None if any(p is None for p in pythons) else (lambda lit: all(f(lit) for f in pythons))
        )
        result = (sparql, python, any(t[2] for t in tests))
        self._nested_cache[shape] = result
        return result

    def _nested_property(self, prop: Node) -> tuple[Callable[[str], str], Callable | None, bool]:
        """A property shape inside a nested shape, as a test on its focus node."""
        g = self.g
        path = self._path_sparql(g.value(prop, SH.path))
        if (prop, SH.property, None) in g or (prop, SH.sparql, None) in g:
            raise Unsupported("nested property shapes")
        if (prop, SH.qualifiedValueShape, None) in g or (prop, SH.uniqueLang, None) in g:
            raise Unsupported("qualified or uniqueLang constraints in a nested shape")
        checks = self._value_checks(prop)
        has_values = [sparql_term(v) for v in g.objects(prop, SH.hasValue)]
        min_counts = [int(b) for b in g.objects(prop, SH.minCount)]
        max_counts = [int(b) for b in g.objects(prop, SH.maxCount)]
        if any(n > 1 for n in min_counts) or any(n > 1 for n in max_counts):
            raise Unsupported("counts above 1 in a nested shape")
        sensitive = any(c.sensitive for c in checks) or bool(has_values)

        def sparql(v: str) -> str:
            parts = []
            for check in checks:
                x = self._var()
                parts.append(f"NOT EXISTS {{ {v} {path} {x} FILTER (!({check.sparql(x)})) }}")
            for term in has_values:
                x = self._var()
                parts.append(f"EXISTS {{ {v} {path} {x} FILTER (sameTerm({x}, {term})) }}")
            for n in min_counts:
                if n == 1:
                    parts.append(f"EXISTS {{ {v} {path} {self._var()} }}")
            for n in max_counts:
                a, b = self._var(), self._var()
                if n == 0:
                    parts.append(f"NOT EXISTS {{ {v} {path} {a} }}")
                else:
                    parts.append(
                        f"NOT EXISTS {{ {v} {path} {a} . {v} {path} {b} "
                        f"FILTER (!sameTerm({a}, {b})) }}"
                    )
            return "(" + " && ".join(parts) + ")" if parts else "true"

        # A literal has no values along a path of IRIs... unless the path is inverse: then
        # the store must answer, and there is no Python twin.
        python = None if "^" in path else (lambda _lit: not min_counts and not has_values)
        return sparql, python, sensitive

    # -- running ----------------------------------------------------------------------------

    def run(
        self,
        store: ox.Store,
        notes: LiteralNotes,
        progress: Callable[[int, int], None] | None = None,
        workers: int | None = None,
    ) -> list[RawResult]:
        """Validate the store's default graph; return the results (unsorted)."""
        return self.plan(store).check(notes, progress, workers)

    def plan(self, store: ox.Store, *, scratch: bool = False) -> Plan:
        """Return the :class:`Plan` of a validation of ``store`` (``scratch``: see
        :class:`Plan`)."""
        return Plan(self, store, scratch=scratch)

    def _update(self, store: ox.Store, text: str) -> None:
        try:
            store.update(self.prologue + text)
        except SyntaxError as error:
            raise Unsupported(f"a query the store cannot read ({error})") from None

    def _names_graphs(self) -> bool:
        """Whether any SPARQL text of the shapes (targets, constraints) names graphs."""
        for shape, target in self.targeted:
            texts = [target, *(text for _c, text, _m in shape.sparql)]
            texts += [text for p in shape.properties for _c, text, _m in p.sparql]
            for text in texts:
                if _NAMES_GRAPHS.search(_MASKED.sub(" ", text)):
                    return True
        return False


class Plan:
    """One validation of a store: its queries, in groups by node shape, and their run.

    The shapes are checked by ``workers`` threads (default: one per core): Oxigraph evaluates
    a query without holding Python's lock, so two cores answer two queries.

    A node shape whose focus nodes more than one compiled query needs (its own constraints and
    those of its property shapes) has them found once: read by one query, and written into
    named graphs of the store (its *focus graphs*, at most :data:`FOCUS_CHUNK` nodes each),
    which the compiled queries then read instead of evaluating the target again, one focus
    graph at a time. A target such as "every IRI the graph uses" is a scan of the whole store,
    so this saves most of the time on large data; and a query's memory (its joins, its groups)
    grows with the nodes of one focus graph, not with the data. In memory one SPARQL update
    writes a node shape's focus nodes into one graph; on disk they are read by a query and
    written :data:`FOCUS_CHUNK` at a time. One thread at a time fills focus graphs: the store
    lets one writer in at a time, and an update holds that place for as long as its query
    runs, so a second thread's fill waited for it (measured at 1M triples: 1.2 s). The focus
    graphs are removed at the end;
    the data is in the default graph, which is all SHACL validates. Shapes whose SPARQL names
    graphs (GRAPH, FROM) could see those graphs, so with them the targets are evaluated in
    every query. SPARQL-based constraints keep the target as it is, and run once: their
    patterns are written by hand, and Oxigraph's planner orders them well around the target's
    sub-select but can order them badly around the focus graph (measured: one constraint
    0.001 s became 0.24 s).

    The focus graphs can be filled (:meth:`fill`) before the literal notes are ready: while
    the loader's streaming pass still reads the input, a core that would otherwise wait fills
    them. ``found(nodes, shape)``, if set, is told when the search for a node shape's focus
    nodes starts (0) and then every :data:`FOCUS_CHUNK` nodes written (for a progress line).
    """

    def __init__(self, compiler: Compiler, store: ox.Store, *, scratch: bool = False) -> None:
        self.compiler = compiler
        self.store = store
        self.scratch = scratch
        """The store is thrown away after the check (an on-disk one, for data over the memory
        limit): the focus graphs are left there at the end."""
        self.found: Callable[[int, Node], None] | None = None
        self.groups: list[tuple[str | None, str, list[tuple[CompiledShape, Node]]]] = []
        """(focus graphs' name or None, target, [(shape checked, its node shape)]) a node
        shape."""
        self._chunks: dict[str, list[str]] = {}
        """A group's focus graphs, by the name its graphs start with, once written."""
        self._error: BaseException | None = None
        materialise = not compiler._names_graphs()
        for index, (shape, target) in enumerate(compiler.targeted):
            if shape.deactivated:
                continue
            checked = [shape] if shape.queries else []
            checked += [p for p in shape.properties if not p.deactivated and p.queries]
            graph = None
            if materialise and sum(1 for c in checked if c.compiled_queries) > 1:
                graph = f"{_FOCUS_GRAPH}{index}"
            self.groups.append((graph, target, [(c, shape.node) for c in checked]))
        # The groups with focus graphs first: they hold the scans of the whole store.
        self.groups.sort(key=lambda group: group[0] is None)

    def fill(self, stop: threading.Event | None = None) -> None:
        """Fill the focus graphs in order until ``stop`` is set (an error is kept for
        :meth:`check`). Not to be called while :meth:`check` runs."""
        try:
            for graph, target, jobs in self.groups:
                if stop is not None and stop.is_set():
                    return
                if graph is not None:
                    self._fill(graph, target, jobs[0][1])
        except BaseException as error:  # raised again by check(), on the caller's thread
            self._error = error

    def _fill(self, graph: str, target: str, shape: Node) -> list[str]:
        """Write the target's focus nodes into focus graphs named ``graph:0``, ``graph:1``...
        (the target's nodes are distinct: each is in one graph); return their names."""
        chunks = self._chunks.get(graph)
        if chunks is not None:
            return chunks
        if self.found is not None:
            self.found(0, shape)
        if not self.scratch:
            # In memory: one update, without a round trip through Python.
            chunks = [f"{graph}:0"]
            self.compiler._update(
                self.store, f"INSERT {{ {_focus_pattern(chunks[0])} }} WHERE {{ {target} }}"
            )
            self._chunks[graph] = chunks
            return chunks
        chunks = []
        focus = ox.NamedNode(_FOCUS)
        try:
            rows = self.store.query(f"{self.compiler.prologue}SELECT ?this WHERE {{ {target} }}")
        except SyntaxError as error:
            raise Unsupported(f"a query the store cannot read ({error})") from None
        written = 0
        for batch in _batches(rows, FOCUS_CHUNK):
            name = f"{graph}:{len(chunks)}"
            node = ox.NamedNode(name)
            chunks.append(name)
            self.store.bulk_extend([ox.Quad(node, focus, row[0], node) for row in batch])
            written += len(batch)
            if self.found is not None:
                self.found(written, shape)
        self._chunks[graph] = chunks
        return chunks

    def check(
        self,
        notes: LiteralNotes,
        progress: Callable[[int, int], None] | None = None,
        workers: int | None = None,
        results: MutableSequence[RawResult] | None = None,
    ) -> MutableSequence[RawResult]:
        """Run the queries; return the results (unsorted): ``results`` (any object with
        ``extend``, called on one thread at a time), extended, or a new list. The focus graphs
        are removed.

        One thread at a time fills focus graphs (the store lets one writer in at a time: a
        second would wait), while the others check the shapes whose focus graphs are there,
        or that need none."""
        total = sum(len(jobs) for _graph, _target, jobs in self.groups)
        workers = workers or min(4, os.cpu_count() or 1)
        done = 0
        results = [] if results is None else results
        lock = threading.Lock()

        def check_job(target: str, shape: CompiledShape, chunks: list[str] | None) -> None:
            runner = _Runner(self.compiler, self.store, notes, hand_over)
            if chunks is None:
                runner.shape(shape, target)
            else:
                if shape.compiled_queries:
                    for chunk in chunks:
                        runner.shape(shape, _focus_select(chunk), sparql=False)
                runner.shape(shape, target, compiled=False)
            finished(runner.results)

        def hand_over(found: list[RawResult]) -> None:
            with lock:
                results.extend(found)

        def finished(found: list[RawResult]) -> None:
            nonlocal done
            with lock:
                results.extend(found)
                done += 1
                if progress is not None:
                    progress(done, total)

        try:
            if self._error is not None:
                raise self._error
            _Schedule(self, check_job).run(workers)
        finally:
            if not self.scratch:
                for chunks in self._chunks.values():
                    for chunk in chunks:
                        self.store.update(f"DROP SILENT GRAPH <{chunk}>")
        return results


class _Schedule:
    """Hands a plan's work to ``workers`` threads: the filling of a node shape's focus graphs
    to a thread when no other fills, the check of one shape (a node shape's constraints, or a
    property shape's) whose focus nodes are ready to any, the shapes of the focus graph filled
    last first (an error stops them all)."""

    def __init__(self, plan: Plan, check_job: Callable) -> None:
        self.plan = plan
        self.check_job = check_job
        self.to_fill = [g for g in plan.groups if g[0] is not None and g[0] not in plan._chunks]
        self.ready: list[tuple[str, CompiledShape, list[str] | None]] = []
        for group in plan.groups:
            if group not in self.to_fill:
                self.ready += self._jobs(group, plan._chunks.get(group[0]))
        self.filling = False
        self.error: BaseException | None = None
        self.condition = threading.Condition()

    @staticmethod
    def _jobs(group: tuple, chunks: list[str] | None) -> list:
        _graph, target, jobs = group
        return [(target, shape, chunks) for shape, _node_shape in jobs]

    def run(self, workers: int) -> None:
        if workers <= 1:
            self._work()
        else:
            threads = [
                threading.Thread(target=self._work, name=f"treatykg-shacl-{n}", daemon=True)
                for n in range(workers)
            ]
            for thread in threads:
                thread.start()
            try:
                for thread in threads:
                    thread.join()
            except BaseException as error:  # Ctrl-C: the threads take no further work
                self._failed(error)
                raise
        if self.error is not None:
            raise self.error

    def _failed(self, error: BaseException) -> None:
        with self.condition:
            self.error = self.error or error
            self.condition.notify_all()

    def _next(self) -> tuple | None:
        with self.condition:
            while self.error is None:
                if self.to_fill and not self.filling:
                    self.filling = True
                    return "fill", self.to_fill.pop(0)
                if self.ready:
                    return "check", self.ready.pop(0)
                if not self.to_fill and not self.filling:
                    return None
                self.condition.wait()
            return None

    def _work(self) -> None:
        try:
            while (task := self._next()) is not None:
                kind, work = task
                if kind == "check":
                    self.check_job(*work)
                    continue
                chunks = self.plan._fill(work[0], work[1], work[2][0][1])
                with self.condition:
                    self.filling = False
                    # Checked next: its scan of the store is done, its queries are not.
                    self.ready[:0] = self._jobs(work, chunks)
                    self.condition.notify_all()
        except BaseException as error:
            self._failed(error)


FOCUS_CHUNK = 50_000
"""The most focus nodes in one focus graph: a compiled query's memory grows with it."""


def _batches(rows: Iterable, size: int) -> Iterator[list]:
    """``rows`` in lists of ``size`` (``itertools.batched``, which Python 3.11 lacks)."""
    batch: list = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


_FOCUS = "urn:treatykg:validation:focus"
_FOCUS_GRAPH = "urn:treatykg:validation:focus:"


def _focus_pattern(graph: str) -> str:
    """The pattern of the focus nodes (?this) written into ``graph``."""
    return f"GRAPH <{graph}> {{ <{graph}> <{_FOCUS}> ?this }}"


def _focus_select(graph: str) -> str:
    """The sub-select of the focus nodes written into ``graph``, in a compiled query's place of
    its target."""
    return f"{{ SELECT ?this WHERE {{ {_focus_pattern(graph)} }} }}"


_NAMES_GRAPHS = re.compile(r"\b(GRAPH|FROM)\b", re.I)


def _prologue_text(prefixes: dict[str, str]) -> str:
    return "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in sorted(prefixes.items()))


_PROLOGUE_LINE = re.compile(
    r"^\s*(PREFIX\s+([A-Za-z][\w.-]*)?:\s*<([^>]*)>|BASE\s+<[^>]*>)\s*", re.I
)


def _strip_prologue(text: str, prefixes: dict[str, str]) -> str:
    """Remove PREFIX/BASE lines from the start of a query, adding the prefixes to ``prefixes``."""
    while True:
        match = _PROLOGUE_LINE.match(text)
        if not match:
            return text
        if match.group(3) is not None:
            prefixes[match.group(2) or ""] = match.group(3)
        text = text[match.end() :]


def _where_brace(query: str) -> int:
    """Return the index of the ``{`` opening the outer WHERE group of a SELECT query."""
    for match in _TOKEN_OR_BRACE.finditer(query):
        if match.group(0) == "{":
            prefix = query[: match.start()]
            if re.search(r"\bEXISTS\b", prefix, re.I):
                raise Unsupported("EXISTS in the SELECT clause of a SPARQL-based constraint")
            return match.start()
    raise Unsupported("a SPARQL-based constraint without a WHERE group")


_TOKEN_OR_BRACE = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
    r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^<>"{}|^`\\\s]*>|#[^\n]*|\{'
)


_MASKED = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
    r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^<>"{}|^`\\\s]*>|#[^\n]*'
)
_EXISTS = re.compile(r"\bFILTER\s*(NOT\s+)?EXISTS\s*\{", re.I)
_NOT_PLAIN = re.compile(
    r"\b(FILTER|BIND|OPTIONAL|MINUS|EXISTS|SELECT|VALUES|SERVICE|GRAPH)\b", re.I
)
_VARIABLE = re.compile(r"[?$]([A-Za-z_][A-Za-z0-9_]*)")


def _plain_pattern(masked: str) -> bool:
    """Whether a (masked) group is triple patterns, UNIONs of them and FILTERs on variables
    that its triple patterns bind (so that a FILTER sees the same values either way)."""
    rest = masked
    filters = []
    for match in list(re.finditer(r"\bFILTER\s*\(", masked, re.I))[::-1]:
        depth, end = 0, None
        for i in range(match.end() - 1, len(masked)):
            depth += {"(": 1, ")": -1}.get(masked[i], 0)
            if depth == 0:
                end = i + 1
                break
        if end is None:
            return False
        filters.append(masked[match.end() : end - 1])
        rest = rest[: match.start()] + " " * (end - match.start()) + rest[end:]
    if _NOT_PLAIN.search(rest) or any(_NOT_PLAIN.search(f) for f in filters):
        return False
    bound = set(_VARIABLE.findall(rest))
    return all(set(_VARIABLE.findall(f)) <= bound for f in filters)


def rewrite_exists(query: str) -> str:
    """Rewrite ``FILTER NOT EXISTS {P}`` as ``MINUS {P}`` and ``FILTER EXISTS {P}`` as a join
    with ``{SELECT DISTINCT <shared variables> WHERE {P}}``, where that gives the same answers
    (see :func:`_plain_pattern`).

    Oxigraph evaluates (NOT) EXISTS once per row, each time over all of P's matches: a
    constraint like "every Wikidata link has a record" becomes quadratic (9 s at 160k triples),
    where MINUS is a hash anti-join (0.07 s). The two are the same when P is plain triple
    patterns (and UNIONs of them: no FILTER, BIND, OPTIONAL, sub-select..., and no path that
    may be of length zero, which MINUS would evaluate over every node), shares a variable
    with the rest of the query, and every shared variable is bound in every row (no OPTIONAL or
    UNION outside P). Anything else is left as written.
    """
    masked = _MASKED.sub(lambda m: "x" * len(m.group(0)), query)
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for i, ch in enumerate(masked):
        if ch == "{":
            stack.append(i)
        elif ch == "}":
            if not stack:
                return query
            pairs[stack.pop()] = i
    if stack:
        return query
    enclosing = {close: open_ for open_, close in pairs.items()}
    blocks = [(m, pairs[m.end() - 1]) for m in _EXISTS.finditer(masked)]
    top = masked  # the query without any of its (NOT) EXISTS blocks
    for match, close in blocks:
        top = top[: match.start()] + " " * (close + 1 - match.start()) + top[close + 1 :]
    edits: list[tuple[int, int, str]] = []
    for match, close in blocks:
        open_ = match.end() - 1
        inner = masked[open_ + 1 : close]
        outside = top
        if not _plain_pattern(inner) or re.search(r"\b(OPTIONAL|UNION)\b", outside, re.I):
            continue
        if "*" in inner or re.search(r"[)>\w]\?(?![A-Za-z_])", inner):
            continue  # a path of length zero from an unbound end matches every node
        shared = sorted(set(_VARIABLE.findall(inner)) & set(_VARIABLE.findall(outside)))
        if not shared:
            continue
        if match.group(1) and _one_bound_triple(inner, shared):
            continue  # one lookup per row: faster than MINUS, which reads every match of P
        # The group that holds the FILTER: the innermost pair around it.
        group_close = min(
            (c for o, c in pairs.items() if o < match.start() and c > close), default=None
        )
        if group_close is None or enclosing.get(group_close) is None:
            continue
        pattern = query[open_ + 1 : close]
        if match.group(1):
            replacement = f" MINUS {{ {pattern} }} "
        else:
            variables = " ".join(f"?{v}" for v in shared)
            replacement = f" {{ SELECT DISTINCT {variables} WHERE {{ {pattern} }} }} "
        edits.append((match.start(), close + 1, ""))
        edits.append((group_close, group_close, replacement))
    for start, end, text in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        query = query[:start] + text + query[end:]
    return query


def _one_bound_triple(masked: str, shared: list[str]) -> bool:
    """Whether a (masked) pattern is one triple pattern whose variables are all ``shared``."""
    body = masked.strip().removesuffix(".").strip()
    if re.search(r"[.;,{}()|/^*+?!]", _VARIABLE.sub("v", body)):
        return False  # more than one triple pattern, or a property path
    terms = body.split()
    return len(terms) == 3 and set(_VARIABLE.findall(body)) <= set(shared)


def _python_flags(flags: str) -> int:
    value = 0
    for flag, python in (("i", re.I), ("m", re.M), ("s", re.S), ("x", re.X)):
        if flag in flags:
            value |= python
    return value


def _has_language(lit: Node) -> bool:
    return isinstance(lit, Literal) and bool(lit.language)


def _has_datatype(lit: Node, datatype: str) -> bool:
    if not isinstance(lit, Literal) or lit.language:
        return False
    actual = str(lit.datatype) if lit.datatype is not None else XSD + "string"
    return actual == datatype and not lit.ill_typed


def _language_in(lit: Node, tags: list[str]) -> bool:
    if not isinstance(lit, Literal) or not lit.language:
        return False
    language = lit.language.lower()
    for tag in tags:
        tag = tag.lower()
        if tag == "*" or language == tag or language.startswith(tag + "-"):
            return True
    return False


def _compare(lit: Node, operator: str, bound: Node) -> bool:
    if not isinstance(lit, Literal) or not isinstance(bound, Literal) or lit.ill_typed:
        return False
    a, b = lit.toPython(), bound.toPython()
    try:
        if isinstance(a, str) or isinstance(b, str):
            if not (isinstance(a, str) and isinstance(b, str)):
                return False
        elif isinstance(a, (int, float, Decimal)) and isinstance(b, (int, float, Decimal)):
            a, b = Decimal(str(a)), Decimal(str(b))
        return bool(
            {">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b}[operator]  # type: ignore[operator]
        )
    except (TypeError, InvalidOperation):
        return False


HAND_OVER = 10_000
"""Results a checking thread holds at most before it hands them over."""


class _Runner:
    """Runs the compiled queries of each shape and turns rows into :class:`RawResult`."""

    def __init__(
        self,
        compiler: Compiler,
        store: ox.Store,
        notes: LiteralNotes,
        hand_over: Callable[[list[RawResult]], None] | None = None,
    ) -> None:
        self.c = compiler
        self.store = store
        self.notes = notes
        self.results: list[RawResult] = []
        """The results found and not yet handed over."""
        self.hand_over = hand_over
        """Given the results every :data:`HAND_OVER` (so that a shape with a million results
        does not hold them all until it is done: they may be going to disk)."""

    def _query(self, text: str):
        try:
            return self.store.query(self.c.prologue + text)
        except SyntaxError as error:
            raise Unsupported(f"a query the store cannot read ({error})") from None

    def _add(self, shape: CompiledShape, focus, component: str, value=None, **extra) -> None:
        self.results.append(
            RawResult(
                focus=_rdflib(focus),
                path=extra.pop("path", shape.path),
                value=None if value is None else _rdflib(value),
                messages=extra.pop("messages", shape.messages),
                severity=shape.severity,
                shape=shape.node,
                component=SH[component],
                **extra,
            )
        )
        if self.hand_over is not None and len(self.results) >= HAND_OVER:
            self.hand_over(self.results)
            self.results = []

    def shape(
        self, shape: CompiledShape, target: str, *, compiled: bool = True, sparql: bool = True
    ) -> None:
        """Check one shape on the focus nodes ``target`` binds to ?this: its compiled queries
        (unless ``compiled`` is false) and its SPARQL-based constraints (unless ``sparql`` is
        false)."""
        if compiled:
            self._compiled(shape, target)
        for constraint, text, messages in shape.sparql if sparql else ():
            if text:
                self._sparql(shape, target, constraint, text, messages)

    def _compiled(self, shape: CompiledShape, target: str) -> None:
        path = shape.path_sparql
        predicate = ox.NamedNode(str(shape.path)) if isinstance(shape.path, URIRef) else None
        if shape.value_checks:
            self._value_checks(shape, target, path, predicate)
        by_qualified: dict[Node | None, list[tuple[str, str, int, Node | None]]] = {}
        for count in shape.counts:
            by_qualified.setdefault(count[3], []).append(count)
        for qualified, counts in by_qualified.items():
            self._count(shape, target, path, qualified, counts)
        if shape.unique_lang:
            query = (
                f"SELECT ?this ?lang WHERE {{ {target} ?this {path} ?v . "
                f'FILTER (isLiteral(?v) && lang(?v) != "") BIND (LCASE(lang(?v)) AS ?lang) }} '
                f"GROUP BY ?this ?lang HAVING (COUNT(DISTINCT ?v) > 1)"
            )
            for row in self._query(query):
                self._add(shape, row["this"], "UniqueLangConstraintComponent")
        for value in shape.has_values:
            term = sparql_term(value)
            if path is None:
                query = f"SELECT ?this WHERE {{ {target} FILTER (!sameTerm(?this, {term})) }}"
            else:
                query = (
                    f"SELECT ?this WHERE {{ {target} FILTER NOT EXISTS "
                    f"{{ ?this {path} ?v FILTER (sameTerm(?v, {term})) }} }}"
                )
            for row in self._query(query):
                value_node = row["this"] if path is None else None
                self._add(shape, row["this"], "HasValueConstraintComponent", value_node)

    def _value_checks(self, shape, target, path, predicate) -> None:
        checks = shape.value_checks
        value = "?this" if path is None else "?v"
        binds = " ".join(
            f"BIND (COALESCE({check.sparql(value)}, false) AS ?ok{i})"
            for i, check in enumerate(checks)
        )
        failing = " || ".join(f"!?ok{i}" for i in range(len(checks)))
        oks = " ".join(f"?ok{i}" for i in range(len(checks)))
        pattern = "" if path is None else f"?this {path} ?v ."
        query = (
            f"SELECT DISTINCT ?this {'' if path is None else '?v'} {oks} WHERE {{ {target} "
            f"{pattern} {binds} FILTER ({failing}) }}"
        )
        noted = self.notes.by_stored
        sensitive = any(c.sensitive for c in checks) and bool(noted) and path is not None
        for row in self._query(query):
            focus = row["this"]
            v = focus if path is None else row["v"]
            if sensitive and v in noted:
                continue  # judged below on the literal as written
            for i, check in enumerate(checks):
                if row[f"ok{i}"].value != "true":
                    shown = self.notes.written(focus, v, predicate)
                    self._add(shape, focus, check.component, shown)
        if sensitive:
            self._noted_values(shape, target, path, predicate, checks)

    def _noted_values(self, shape, target, path, predicate, checks) -> None:
        """Judge the values the store changed on the literals as written (in Python).

        Up to :data:`NOTED_VALUES` noted literals, one query joins them (``VALUES``) with the
        values on the path. Past that, one query reads the values on the path of the datatypes
        the store changed, and each is looked up in the notes: linear in those values. (A query
        per 500 noted literals, each evaluating the target again, took 129 s for a million
        noted literals; on the project's graph copied 440 times, with its few noted literals,
        the scan took 0.8 s of CPU and the join 0.15 s.) Only a complex path can give a
        focus node the same value twice, so only then is there a DISTINCT (its set grows with
        the rows)."""
        noted = self.notes.by_stored
        distinct = "" if predicate is not None else "DISTINCT"
        if len(noted) <= NOTED_VALUES:
            values = " ".join(str(term) for term in noted)
            query = (
                f"SELECT {distinct} ?this ?v WHERE {{ VALUES ?v {{ {values} }} {target} "
                f"?this {path} ?v . }}"
            )
        else:
            datatypes = ", ".join(f"<{datatype}>" for datatype in sorted(self.notes.datatypes))
            query = (
                f"SELECT {distinct} ?this ?v WHERE {{ {target} ?this {path} ?v . "
                f"FILTER (isLiteral(?v) && datatype(?v) IN ({datatypes})) }}"
            )
        for row in self._query(query):
            focus, stored = row["this"], row["v"]
            entries = noted.get(stored)
            if entries:
                originals = [
                    original
                    for s, p, original in entries
                    if predicate is None or (s == focus and p == predicate)
                ] or [original for _s, _p, original in entries]
                for original in dict.fromkeys(originals):
                    literal = rdflib_literal(original)
                    for check in checks:
                        if check.python is None:
                            raise Unsupported("a check that needs the store, on a changed literal")
                        if not check.python(literal):
                            self._add(shape, focus, check.component, original)

    def _count(self, shape, target, path, qualified, counts) -> None:
        """Check the counts ``(component, kind, bound, qualified)`` on one set of values (all
        values on the path, or those conforming to ``qualified``): a lone minimum of one as
        NOT EXISTS, anything else as one grouped count for them all."""
        if qualified is not None:
            sparql, _python, sensitive = self.c._nested(qualified)
            if sensitive and self.notes:
                raise Unsupported("a qualified count over literals the store changed")
            condition = f"FILTER ({sparql('?v')})"
        else:
            condition = ""
        if len(counts) == 1 and counts[0][1] in ("min", "qmin") and counts[0][2] == 1:
            query = (
                f"SELECT ?this WHERE {{ {target} FILTER NOT EXISTS "
                f"{{ ?this {path} ?v {condition} }} }}"
            )
            for row in self._query(query):
                self._add(shape, row["this"], counts[0][0])
            return
        failing = " || ".join(
            f"COUNT(DISTINCT ?v) {'<' if kind in ('min', 'qmin') else '>'} {bound}"
            for _c, kind, bound, _q in counts
        )
        query = (
            f"SELECT ?this (COUNT(DISTINCT ?v) AS ?n) WHERE {{ {target} "
            f"OPTIONAL {{ ?this {path} ?v {condition} }} }} GROUP BY ?this HAVING ({failing})"
        )
        for row in self._query(query):
            n = int(row["n"].value)
            for component, kind, bound, _qualified in counts:
                if (n < bound) if kind in ("min", "qmin") else (n > bound):
                    self._add(shape, row["this"], component)

    def _sparql(self, shape, target, constraint, text, messages) -> None:
        text = rewrite_exists(text)
        brace = _where_brace(text)
        query = text[: brace + 1] + " " + target + " " + text[brace + 1 :]
        solutions = self._query(query)
        names = [variable.value for variable in solutions.variables]
        seen: set = set()
        for row in solutions:
            bindings = {name: row[name] for name in names if row[name] is not None}
            focus = bindings.get("this")
            if "failure" in bindings:
                if ("failure", focus) in seen:
                    continue
                seen.add(("failure", focus))
                value = None if shape.path is not None else focus
                result_path = None
            else:
                key = tuple(sorted((k, str(v)) for k, v in bindings.items()))
                if key in seen:
                    continue
                seen.add(key)
                value = bindings.get("value", None if shape.path is not None else focus)
                result_path = bindings.get("path")
            shown = dict(bindings)
            if value is not None:
                shown["value"] = value
            extra = {} if result_path is None else {"path": _rdflib(result_path)}
            self._add(
                shape,
                focus,
                "SPARQLConstraintComponent",
                None if value is None else self.notes.written(focus, value),
                source_constraint=constraint,
                messages=_format_messages(shape.messages, messages, shown),
                **extra,
            )


def _format_messages(
    shape_messages: list[Literal], messages: list[Literal], bindings: dict
) -> list[Literal]:
    """pyshacl's messages for a SPARQL result: the shape's, then the constraint's, with
    ``{?var}``/``{$var}`` replaced by the value's string form."""
    out = []
    for message in [*shape_messages, *[m for m in messages if m not in shape_messages]]:
        text = str(message)
        for name, term in bindings.items():
            text = re.sub(
                "{[?$]" + re.escape(name) + "}",
                lambda _m, t=term: _string_form(t),
                text,
            )
        out.append(Literal(text, lang=message.language) if message.language else Literal(text))
    return out


def _string_form(term) -> str:
    if isinstance(term, (ox.NamedNode, ox.BlankNode, ox.Literal)):
        return term.value
    return str(term)


def _rdflib(term) -> Node:
    """Convert a pyoxigraph term (or an rdflib one) to rdflib."""
    if term is None or isinstance(term, Node):
        return term
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        from treatykg.rdflib_graphs import to_rdflib_term

        return to_rdflib_term(term)
    raise Unsupported(f"a term of kind {type(term).__name__}")
