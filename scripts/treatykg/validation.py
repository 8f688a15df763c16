"""SHACL validation of the graph (or of a user's files) against ``shapes/``.

The data graph is the union of the ontology and the data: SHACL follows ``rdfs:subClassOf``
in the data graph for ``sh:targetClass`` and ``sh:class``, so the class hierarchy must be there,
and a user's extension file is checked against the project's vocabulary.

Inference is off: SHACL already walks the asserted class hierarchy, and RDFS/OWL-RL entailment
would add triples (types inferred from domains and ranges, for instance) that hide exactly the
missing statements the shapes are meant to catch; it would also cost seconds per run.
``advanced=True`` enables SPARQL-based constraints. Warnings and infos are reported but do not
make the graph non-conforming: only ``sh:Violation`` results do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyshacl
import pyshacl.errors
from rdflib import RDF, BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from treatykg import loading
from treatykg.errors import InputError, TreatyKGError
from treatykg.namespaces import PREFIXES, TKG, prefixed_name
from treatykg.reasoning import owl_rl_inconsistencies

SH = Namespace("http://www.w3.org/ns/shacl#")
_SEVERITY_ORDER = {"Violation": 0, "Warning": 1, "Info": 2}


@dataclass(frozen=True)
class Result:
    """One SHACL validation result. IRIs are full IRI strings; a blank node is ``[]`` (its
    identifier is random, so showing it would make reports differ from run to run).

    ``path`` is the property IRI, or a SPARQL property path (``tkg:a/tkg:b``) for a complex one;
    ``value`` is an IRI or a literal's lexical form; ``severity`` is ``Violation``, ``Warning``
    or ``Info``.
    """

    focus_node: str
    path: str | None
    message: str
    severity: str
    source_shape: str | None
    source_constraint_component: str | None
    value: str | None
    value_display: str | None = field(default=None, repr=False, compare=False)
    path_display: str | None = field(default=None, repr=False, compare=False)

    def sort_key(self) -> tuple:
        """Key giving a stable order: severity, focus node, path, constraint, shape, value."""
        return (
            _SEVERITY_ORDER.get(self.severity, 9),
            self.focus_node,
            self.path or "",
            self.source_constraint_component or "",
            self.source_shape or "",
            self.value or "",
            self.message,
        )

    def to_dict(self) -> dict[str, str | None]:
        """Return the result's fields as a dict (without the display-only field)."""
        data = asdict(self)
        del data["value_display"], data["path_display"]
        return data


@dataclass
class Report:
    """The outcome of :func:`validate`: ``conforms`` and the sorted ``results``."""

    conforms: bool
    results: list[Result]
    graph: Graph = field(repr=False)
    """pyshacl's validation report graph (what :meth:`to_turtle` writes)."""

    def count(self, severity: str) -> int:
        """Return the number of results of a severity (``Violation``, ``Warning``, ``Info``)."""
        return sum(1 for r in self.results if r.severity == severity)

    def summary(self) -> str:
        """Return the closing line, e.g. ``2 violations, 1 warnings`` (fixed plural forms)."""
        line = f"{self.count('Violation')} violations, {self.count('Warning')} warnings"
        infos = self.count("Info")
        return line + (f", {infos} infos" if infos else "")

    def to_text(self) -> str:
        """Return one block per result, then the summary line."""
        blocks = []
        for r in self.results:
            lines = [f"{r.severity}: {_display(r.focus_node)}"]
            if r.path_display:
                lines.append(f"  path:    {r.path_display}")
            if r.value_display is not None:
                lines.append(f"  value:   {r.value_display}")
            lines.append(f"  message: {r.message}")
            if r.source_shape:
                component = r.source_constraint_component
                suffix = f" ({_display(component)})" if component else ""
                lines.append(f"  shape:   {_display(r.source_shape)}{suffix}")
            blocks.append("\n".join(lines))
        blocks.append(self.summary())
        return "\n\n".join(blocks) + "\n"

    def to_turtle(self) -> str:
        """Return the SHACL validation report graph as Turtle."""
        for prefix, namespace in PREFIXES.items():
            self.graph.bind(prefix, namespace, override=True, replace=True)
        return self.graph.serialize(format="turtle")

    def to_json(self) -> str:
        """Return ``{"conforms", "violations", "warnings", "infos", "results": [...]}`` as JSON."""
        data = {
            "conforms": self.conforms,
            "violations": self.count("Violation"),
            "warnings": self.count("Warning"),
            "infos": self.count("Info"),
            "results": [r.to_dict() for r in self.results],
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _display(text: str) -> str:
    """Prefixed name for an IRI; ``[]`` (a blank node) as it is."""
    return text if text == "[]" else prefixed_name(text)


def _term_str(term: Node | None) -> str | None:
    if term is None:
        return None
    if isinstance(term, BNode):
        return "[]"
    return str(term)


def _term_display(term: Node | None) -> str | None:
    if term is None:
        return None
    if isinstance(term, URIRef):
        return prefixed_name(str(term))
    if isinstance(term, Literal):
        text = json.dumps(str(term), ensure_ascii=False)
        if term.language:
            return f"{text}@{term.language}"
        if term.datatype is not None:
            return f"{text}^^{prefixed_name(str(term.datatype))}"
        return text
    return "[]"


def _path_str(graph: Graph, path: Node | None) -> str | None:
    """Render a SHACL property path: an IRI as itself, a complex path in SPARQL syntax."""
    if path is None:
        return None
    if isinstance(path, URIRef):
        return str(path)
    return _path_sparql(graph, path)


def _path_sparql(graph: Graph, path: Node) -> str:
    if isinstance(path, URIRef):
        return prefixed_name(str(path))
    if (path, RDF.first, None) in graph:
        return "/".join(_path_sparql(graph, p) for p in Collection(graph, path))
    for predicate, template in (
        (SH.inversePath, "^{}"),
        (SH.zeroOrMorePath, "({})*"),
        (SH.oneOrMorePath, "({})+"),
        (SH.zeroOrOnePath, "({})?"),
    ):
        inner = graph.value(path, predicate)
        if inner is not None:
            return template.format(_path_sparql(graph, inner))
    alternatives = graph.value(path, SH.alternativePath)
    if alternatives is not None:
        return "(" + "|".join(_path_sparql(graph, p) for p in Collection(graph, alternatives)) + ")"
    return "[]"


def _message(graph: Graph, result: Node) -> str:
    messages = [m for m in graph.objects(result, SH.resultMessage) if isinstance(m, Literal)]
    # Shapes may carry sh:message in several languages: show English (or untagged) ones.
    preferred = [m for m in messages if not m.language or m.language.lower().startswith("en")]
    chosen = sorted({" ".join(str(m).split()) for m in (preferred or messages)})
    return "; ".join(chosen) or "(no message)"


def _results(graph: Graph) -> list[Result]:
    results = []
    for node in graph.subjects(RDF.type, SH.ValidationResult):
        severity = graph.value(node, SH.resultSeverity)
        value = graph.value(node, SH.value)
        path = graph.value(node, SH.resultPath)
        results.append(
            Result(
                focus_node=_term_str(graph.value(node, SH.focusNode)) or "",
                path=_path_str(graph, path),
                message=_message(graph, node),
                severity=str(severity).rsplit("#", 1)[-1] if severity else "Violation",
                source_shape=_term_str(graph.value(node, SH.sourceShape)),
                source_constraint_component=_term_str(
                    graph.value(node, SH.sourceConstraintComponent)
                ),
                value=_term_str(value),
                value_display=_term_display(value),
                path_display=None if path is None else _path_sparql(graph, path),
            )
        )
    return sorted(results, key=Result.sort_key)


def validate(
    data_files: Iterable[Path | str] | None = None,
    shape_files: Iterable[Path | str] | None = None,
    *,
    with_ontology: bool = True,
    owl_rl: bool = False,
) -> Report:
    """Validate data against SHACL shapes and return a :class:`Report`.

    ``data_files`` None means the project's ontology and graph; given files are validated
    together with ``ontology/`` (unless ``with_ontology`` is false). ``shape_files`` None means
    ``shapes/*.ttl``. ``owl_rl`` also checks the data's consistency under the OWL 2 RL rules
    (:mod:`treatykg.reasoning`); each inconsistency becomes a violation whose constraint
    component is ``tkg:OwlRlConsistency``. Raises :class:`InputError`/:class:`ParseError` for
    bad files.

    >>> report = validate()
    >>> report.conforms  # doctest: +SKIP
    True
    """
    if data_files is None:
        files: list[Path] = [path for path, _graph in loading.project_files()]
    else:
        # The user's files first, so that an error in them is the one reported.
        files = [Path(f) for f in data_files]
        if with_ontology:
            given = {f.resolve() for f in files}
            files += [f for f in loading.ontology_files() if f.resolve() not in given]
    shapes_list = list(shape_files) if shape_files is not None else loading.shape_files()

    data = loading.merged_graph(files)
    shapes = loading.merged_graph(shapes_list)
    # Before SHACL, which (inplace) may add to `data`.
    inconsistencies = owl_rl_inconsistencies(data) if owl_rl else []
    try:
        with loading.quiet_literal_warnings():
            conforms, report_graph, _text = pyshacl.validate(
                data,
                shacl_graph=shapes,
                inference="none",
                advanced=True,
                allow_warnings=True,
                inplace=True,  # `data` is ours and inference is off: no need for a copy
            )
    except pyshacl.errors.ReportableRuntimeError as error:
        raise InputError(f"the shapes cannot be used: {error.message}") from None
    except RecursionError:
        raise TreatyKGError("SHACL validation failed: recursive shapes") from None
    for message in inconsistencies:
        _add_inconsistency(report_graph, message)
    if inconsistencies:
        report = report_graph.value(predicate=RDF.type, object=SH.ValidationReport, any=True)
        report_graph.set((report, SH.conforms, Literal(False)))
    return Report(
        conforms=bool(conforms) and not inconsistencies,
        results=_results(report_graph),
        graph=report_graph,
    )


OWL_RL_CONSISTENCY = TKG.OwlRlConsistency
"""The constraint component named by results of the OWL 2 RL consistency check."""

_LAST_IRI = re.compile(r"(https?://[^\s<>\"]+)\s*$")


def _add_inconsistency(report_graph: Graph, message: str) -> None:
    """Add an OWL 2 RL inconsistency to a SHACL report graph as a violation result.

    Its focus node is the IRI the message ends with (owlrl names the offending individual
    last), or the message has none.
    """
    report = report_graph.value(predicate=RDF.type, object=SH.ValidationReport, any=True)
    result = BNode()
    report_graph.add((report, SH.result, result))
    report_graph.add((result, RDF.type, SH.ValidationResult))
    report_graph.add((result, SH.resultSeverity, SH.Violation))
    report_graph.add((result, SH.sourceConstraintComponent, OWL_RL_CONSISTENCY))
    report_graph.add((result, SH.resultMessage, Literal(f"OWL 2 RL: {message}")))
    match = _LAST_IRI.search(message)
    if match:
        report_graph.add((result, SH.focusNode, URIRef(match.group(1))))
