"""SHACL validation of the graph (or of a user's files) against ``shapes/``.

Two engines give the same report. The default, ``oxigraph``, loads the data into a pyoxigraph
store and runs the shapes compiled to SPARQL (:mod:`treatykg.shacl_sparql`); where the shapes
use a feature it does not compile, it hands over to ``pyshacl``, the reference engine, which
can also be chosen (``engine="pyshacl"``, ``treatykg validate --engine pyshacl``).

Both also report every ill-typed literal in the data (``"abc"^^xsd:date``, ``"12x"^^xsd:integer``)
that no shape already reports, as a violation of ``tkg:WellTypedLiteral``: one result per
literal, naming its subject, predicate and value.

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

import functools
import gc
import io
import json
import re
import shutil
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TextIO

from rdflib import RDF, XSD, BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from treatykg import loading, memory_budget, rdflib_graphs, tempfiles
from treatykg.errors import InputError, TreatyKGError
from treatykg.namespaces import PREFIXES, TKG, prefixed_name
from treatykg.reasoning import owl_rl_inconsistencies

SH = Namespace("http://www.w3.org/ns/shacl#")
_SEVERITY_ORDER = {"Violation": 0, "Warning": 1, "Info": 2}


@dataclass(frozen=True, slots=True)
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
    """The outcome of :func:`validate`: ``conforms`` and the sorted ``results``.

    ``results`` is a list, or for a report of more than :data:`SPILL_THRESHOLD` results a
    read-only sequence read back from a database on disk (:class:`SpilledResults`): call
    :meth:`close` (or use the report as a context manager) when done with it; it is closed at
    the process's exit otherwise.
    """

    conforms: bool
    results: Sequence[Result]
    _graph: Graph | None = field(default=None, repr=False)
    _build_graph: Callable[[], Graph] | None = field(default=None, repr=False, compare=False)
    _write_turtle: Callable[[TextIO], None] | None = field(default=None, repr=False, compare=False)
    engine: str = "pyshacl"
    """The engine that produced the report: ``oxigraph`` or ``pyshacl``."""
    note: str | None = None
    """Why the run fell back to pyshacl, if it did."""
    _counts: dict[str, int] | None = field(default=None, repr=False, compare=False)

    def __enter__(self) -> Report:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove the results' database on disk, if they have one (then they are gone)."""
        if isinstance(self.results, SpilledResults):
            self.results.close()

    @property
    def graph(self) -> Graph:
        """The SHACL validation report graph (what :meth:`to_turtle` writes), built on demand."""
        if self._graph is None:
            self._graph = self._build_graph() if self._build_graph else Graph()
        return self._graph

    def count(self, severity: str) -> int:
        """Return the number of results of a severity (``Violation``, ``Warning``, ``Info``)."""
        if self._counts is not None:
            return self._counts.get(severity, 0)
        return sum(1 for r in self.results if r.severity == severity)

    def summary(self) -> str:
        """Return the closing line, e.g. ``2 violations, 1 warnings`` (fixed plural forms)."""
        line = f"{self.count('Violation')} violations, {self.count('Warning')} warnings"
        infos = self.count("Info")
        return line + (f", {infos} infos" if infos else "")

    def to_text(self) -> str:
        """Return one block per result, then the summary line."""
        out = io.StringIO()
        self.write_text(out)
        return out.getvalue()

    def write_text(self, out: TextIO) -> None:
        """Write :meth:`to_text`'s text to ``out`` a block at a time (a report of a million
        results is 0.2 GB of text: never made into one string)."""
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
            out.write("\n".join(lines) + "\n\n")
        out.write(self.summary() + "\n")

    def to_turtle(self) -> str:
        """Return the SHACL validation report graph as Turtle."""
        out = io.StringIO()
        self.write_turtle(out)
        return out.getvalue()

    def write_turtle(self, out: TextIO) -> None:
        """Write the report graph as Turtle to ``out``: the fast engine's a result at a time,
        without building the graph (with rdflib, 300,000 results took 2.8 GB)."""
        if self._graph is None and self._write_turtle is not None:
            self._write_turtle(out)
            return
        for prefix, namespace in PREFIXES.items():
            self.graph.bind(prefix, namespace, override=True, replace=True)
        out.write(self.graph.serialize(format="turtle"))

    def to_json(self) -> str:
        """Return ``{"conforms", "violations", "warnings", "infos", "results": [...]}`` as JSON."""
        out = io.StringIO()
        self.write_json(out)
        return out.getvalue()

    def write_json(self, out: TextIO) -> None:
        """Write :meth:`to_json`'s text to ``out`` a result at a time (the text that
        ``json.dumps(..., indent=2, ensure_ascii=False)`` gives, never held whole)."""
        head = {
            "conforms": self.conforms,
            "violations": self.count("Violation"),
            "warnings": self.count("Warning"),
            "infos": self.count("Info"),
        }
        encoder = json.JSONEncoder(indent=2, ensure_ascii=False)
        out.write(encoder.encode(head)[:-2] + ',\n  "results": [')
        first = True
        for r in self.results:
            item = encoder.encode(r.to_dict()).replace("\n", "\n    ")
            out.write(("\n    " if first else ",\n    ") + item)
            first = False
        out.write("]\n}\n" if first else "\n  ]\n}\n")


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


ENGINES = ("oxigraph", "pyshacl")
"""The validation engines: the SPARQL-compiled fast path and the reference."""


def validate(
    data_files: Iterable[Path | str] | None = None,
    shape_files: Iterable[Path | str] | None = None,
    *,
    with_ontology: bool = True,
    owl_rl: bool = False,
    engine: str = "oxigraph",
    progress: bool = False,
    memory_limit: int | None = None,
    say: Callable[[str], None] | None = None,
) -> Report:
    """Validate data against SHACL shapes and return a :class:`Report`.

    ``data_files`` None means the project's ontology and graph; given files are validated
    together with ``ontology/`` (unless ``with_ontology`` is false), and each must hold at least
    one triple. ``shape_files`` None means ``shapes/*.ttl``. ``owl_rl`` also checks the data's
    consistency under the OWL 2 RL rules (:mod:`treatykg.reasoning`); each inconsistency
    becomes a violation whose constraint component is ``tkg:OwlRlConsistency``. ``engine`` is
    ``oxigraph`` (SPARQL on pyoxigraph, falling back to pyshacl for shapes it does not compile)
    or ``pyshacl``. ``progress`` prints a line on stderr now and then once the work has taken
    more than a second. Raises :class:`InputError`/:class:`ParseError` for bad files.

    Memory: the oxigraph engine holds the data in memory when its estimated peak
    (:func:`treatykg.memory_budget.estimated_validation_memory`) is within ``memory_limit``
    (bytes; None: :func:`treatykg.memory_budget.default_memory_limit`, half the memory
    available), and otherwise in an on-disk store in a temporary folder, removed at the end
    (even on an error or Ctrl-C; after a ``kill -9``, by the next treatykg command), which
    ``say(message)`` is told of. Both give the same report; on disk, loading takes memory
    independent of the input's size, and the queries take about three times as long.

    >>> report = validate()
    >>> report.conforms  # doctest: +SKIP
    True
    """
    reporter = _Progress(progress)
    try:
        return _validate(
            data_files, shape_files, with_ontology, owl_rl, engine, memory_limit, say, reporter
        )
    finally:
        reporter.stop()


def _validate(
    data_files: Iterable[Path | str] | None,
    shape_files: Iterable[Path | str] | None,
    with_ontology: bool,
    owl_rl: bool,
    engine: str,
    memory_limit: int | None,
    say: Callable[[str], None] | None,
    reporter: _Progress,
) -> Report:
    if engine not in ENGINES:
        raise InputError(f"unknown validation engine {engine!r} (expected one of {ENGINES})")
    user_files: list[Path] = []
    if data_files is None:
        files: list[Path] = [path for path, _graph in loading.project_files()]
    else:
        # The user's files first, so that an error in them is the one reported.
        user_files = [Path(f) for f in data_files]
        files = list(user_files)
        if with_ontology:
            given = {f.resolve() for f in files}
            files += [f for f in loading.ontology_files() if f.resolve() not in given]
    shapes_list = list(shape_files) if shape_files is not None else loading.shape_files()

    if engine == "oxigraph":
        limit = memory_budget.default_memory_limit() if memory_limit is None else memory_limit
        estimate = memory_budget.estimated_validation_memory(files)
        directory = None
        if estimate > limit:
            try:
                directory = tempfiles.private_dir("validate")
            except OSError as error:
                raise InputError(
                    "the data needs an on-disk store (over the memory limit), but no temporary "
                    f"folder could be made for it: {error.strerror or error} "
                    "(set TMPDIR to a writable folder, or raise --memory-limit)"
                ) from None
            reporter.where = "the on-disk store"
            if say is not None:
                say(
                    f"the data may need about {memory_budget.format_size(estimate)} in memory, "
                    f"over the memory limit ({memory_budget.format_size(limit)}): validating "
                    f"on an on-disk store in {directory} (slower; removed at the end)"
                )
        try:
            checked = _check_with_oxigraph(files, user_files, shapes_list, reporter, directory)
        except BaseException as error:
            # The traceback's frames hold the store: let it go (and close) before its folder
            # is removed below.
            traceback.clear_frames(error.__traceback__)
            raise
        finally:
            if directory is not None:
                _remove_folder(directory)
        if isinstance(checked, str):  # the shapes need pyshacl
            report = _validate_with_pyshacl(files, shapes_list, owl_rl, reporter)
            report.note = checked
            return report
        sink = checked
        try:
            inconsistencies = (
                owl_rl_inconsistencies(rdflib_graphs.merged_graph(files)) if owl_rl else []
            )
            if sink.spilled is not None:
                reporter.sorting()
            report = sink.report(inconsistencies)
            reporter.done()
            return report
        except BaseException:
            sink.close()  # no report: its results' database goes
            raise
    counts = {}
    if user_files:
        for path in user_files:
            counts[path] = len(loading.parse_file(path))
        _refuse_empty(user_files, counts)
    return _validate_with_pyshacl(files, shapes_list, owl_rl, reporter)


def _check_with_oxigraph(
    files: list[Path],
    user_files: list[Path],
    shapes_list: list,
    reporter: _Progress,
    directory: Path | None,
) -> ResultSink | str:
    """Load the store (in memory, or on disk in ``directory``) and check the shapes; return
    the results (with the ill-typed literals), or why pyshacl is needed. The store is gone when
    this returns."""
    from treatykg import shacl_sparql

    shapes, compiler = _compiled_shapes(tuple(_file_key(f) for f in shapes_list))
    plans: list[shacl_sparql.Plan] = []

    def when_loaded(store, parsed) -> None:
        # The store is ready before the literal pass is over: start on the focus graphs.
        plans.append(compiler.plan(store, scratch=directory is not None))
        plans[0].found = reporter.found
        plans[0].fill(parsed)

    compiled = not isinstance(compiler, shacl_sparql.Unsupported)
    store, notes, counts = loading.load_validation_store(
        files, reporter.parsed, when_loaded if compiled else None, directory
    )
    try:
        return _check_loaded(
            compiler, plans, store, notes, counts, user_files, shapes, reporter, directory
        )
    finally:
        notes.close()  # many notes are on disk: removed now


def _check_loaded(compiler, plans, store, notes, counts, user_files, shapes, reporter, directory):
    """Check the shapes on the loaded store (:func:`_check_with_oxigraph`'s second half)."""
    from treatykg import shacl_sparql

    _refuse_empty(user_files, counts)
    try:
        if not isinstance(compiler, shacl_sparql.Compiler):
            raise compiler
        if not plans:
            plans.append(compiler.plan(store, scratch=directory is not None))
            plans[0].found = reporter.found
        plan = plans[0]
        # Small data: one thread (two threads' hand-overs cost more than they save there).
        workers = 1 if sum(counts.values()) < SMALL_DATA else None
        sink = ResultSink(shapes)
        try:
            count, ill_typed = notes.ill_typed()
            if count > SPILL_THRESHOLD:
                reporter.ill_typed(count)
            sink.ill_typed(count, ill_typed)
            plan.check(notes, reporter.checked, workers, results=sink)
        except BaseException:
            sink.close()
            raise
    except shacl_sparql.Unsupported as error:
        reporter.done()
        return f"the shapes use {error}, which the oxigraph engine does not compile"
    return sink


SMALL_DATA = 20_000
"""Data of fewer triples is checked on one thread: 31 ms a shape fixture against 40 ms on two."""


def _remove_folder(directory: Path) -> None:
    """Remove a store's folder. Its database closes when the store is collected, and may
    still write a file as it closes: try again a few times."""
    for _attempt in range(20):
        gc.collect()
        shutil.rmtree(directory, ignore_errors=True)
        if not directory.exists():
            return
        time.sleep(0.05)


def _file_key(path: Path | str) -> tuple[str, int, int]:
    stat = Path(path).stat()
    return (str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _compiled_shapes(keys: tuple[tuple[str, int, int], ...]) -> tuple[Graph, object]:
    """Return the shapes graph and its compiled form (or the Unsupported error), kept per
    process for the same files unchanged: a test session validates many small files."""
    from treatykg import shacl_sparql

    shapes = rdflib_graphs.merged_graph([key[0] for key in keys])
    try:
        return shapes, shacl_sparql.Compiler(shapes)
    except shacl_sparql.Unsupported as error:
        return shapes, error


def _refuse_empty(user_files: list[Path], counts: dict[Path, int]) -> None:
    for path in user_files:
        if counts.get(path, 0) == 0:
            raise InputError(f"{path}: holds no triples, so there is nothing to validate")


class _Progress:
    """Prints a progress line on stderr once the work has taken a second: when what it does
    changes, at most once a second, and every five seconds while one step goes on (a long
    query, a long search for focus nodes), so that a silent terminal never means a hang."""

    REPEAT = 5.0
    """Seconds after which an unchanged status is printed again."""
    TICK = 0.5
    """Seconds between two looks at whether to print the status again."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.lock = threading.Lock()
        """Held around the clock and the printing (the loader's and the checkers' threads
        report too)."""
        with self.lock:
            self.start = time.monotonic()
        self.last = self.start
        self.printed = False
        self.status: str | None = None
        self.pending = False
        self.where = "memory"
        """Where the data goes: ``memory`` or ``the on-disk store``."""
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        if enabled:
            self._ticker = threading.Thread(
                target=self._tick, name="treatykg-progress", daemon=True
            )
            self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.wait(self.TICK):
            self._say(None)

    def _say(self, text: str | None) -> None:
        """Take ``text`` as the status (None: keep it) and print it if it is time to."""
        if not self.enabled:
            return
        with self.lock:
            if text is not None:
                self.status, self.pending = text, True
            now = time.monotonic()
            if self.status is None or now - self.start < 1.0 or now - self.last < 1.0:
                return
            if not self.pending and now - self.last < self.REPEAT:
                return
            self.last, self.printed, self.pending = now, True, False
            print(
                f"treatykg: validate: {self.status} ({now - self.start:.0f} s)",
                file=sys.stderr,
                flush=True,
            )

    def parsed(self, triples: int, path: Path) -> None:
        self._say(f"{triples:,} triples read into {self.where} ({path.name})")

    def found(self, nodes: int, shape: object) -> None:
        name = _display(_term_str(shape) or "")
        if nodes == 0:
            self._say(f"finding the focus nodes of {name}")
        else:
            self._say(f"{nodes:,} focus nodes of {name} found")

    def checked(self, done: int, total: int) -> None:
        self._say(f"{done}/{total} shapes checked")

    def sorting(self) -> None:
        self._say("sorting the results on disk")

    def ill_typed(self, count: int) -> None:
        self._say(f"writing {count:,} ill-typed literals into the report on disk")

    def stop(self) -> None:
        """Stop the line that repeats (at the end, or on an error)."""
        self._stop.set()
        if self._ticker is not None and self._ticker is not threading.current_thread():
            self._ticker.join()

    def done(self) -> None:
        self.stop()
        with self.lock:
            if self.printed:
                print(
                    f"treatykg: validate: done in {time.monotonic() - self.start:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )
                self.printed = False


def _validate_with_pyshacl(
    files: list[Path], shapes_list: list, owl_rl: bool, reporter: _Progress
) -> Report:
    data = rdflib_graphs.merged_graph(files)
    shapes = rdflib_graphs.merged_graph(shapes_list)
    # Before SHACL, which (inplace) may add to `data`.
    inconsistencies = owl_rl_inconsistencies(data) if owl_rl else []
    ill = [(s, p, o) for s, p, o in data if isinstance(o, Literal) and o.ill_typed]
    import pyshacl  # imported here: it takes a third of a second, and the fast path needs none
    import pyshacl.errors

    reporter._say("checking the shapes with pyshacl")
    try:
        with rdflib_graphs.quiet_literal_warnings():
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
    reporter.done()
    _add_ill_typed(report_graph, ill)
    for message in inconsistencies:
        _add_inconsistency(report_graph, message)
    results = _results(report_graph)
    conforms = not any(r.severity == "Violation" for r in results)
    report = report_graph.value(predicate=RDF.type, object=SH.ValidationReport, any=True)
    report_graph.set((report, SH.conforms, Literal(conforms)))
    return Report(conforms=conforms, results=results, _graph=report_graph, engine="pyshacl")


WELL_TYPED_LITERAL = TKG.WellTypedLiteral
"""The constraint component named by results for ill-typed literals found anywhere."""


def _add_ill_typed(report_graph: Graph, ill: list) -> None:
    """Add a violation per ill-typed literal that no result already names."""
    named = {
        (report_graph.value(r, SH.focusNode), report_graph.value(r, SH.value))
        for r in report_graph.subjects(RDF.type, SH.ValidationResult)
    }
    report = report_graph.value(predicate=RDF.type, object=SH.ValidationReport, any=True)
    for subject, predicate, literal in sorted(set(ill)):
        if (subject, literal) in named:
            continue
        result = BNode()
        report_graph.add((report, SH.result, result))
        for p, o in _ill_typed_result(subject, predicate, literal):
            report_graph.add((result, p, o))


def _ill_typed_result(subject, predicate, literal) -> list[tuple]:
    return [
        (RDF.type, SH.ValidationResult),
        (SH.resultSeverity, SH.Violation),
        (SH.sourceConstraintComponent, WELL_TYPED_LITERAL),
        (SH.focusNode, subject),
        (SH.resultPath, predicate),
        (SH.value, literal),
        (SH.resultMessage, Literal(_ill_typed_message(literal), lang="en")),
    ]


def _ill_typed_message(literal: Literal) -> str:
    return (
        f"{json.dumps(str(literal), ensure_ascii=False)} is not a valid "
        f"{prefixed_name(str(literal.datatype))}: an ill-typed literal"
    )


class _ResultMaker:
    """Makes :class:`Result` s from the fast engine's raw results, sharing their strings where
    they repeat (a shape's message, path, IRI, severity): with 900,000 results, each made its
    own took 0.8 GB. What it shares is forgotten past :data:`_SHARED_MAX` entries (messages of
    SPARQL-based constraints are made per result)."""

    def __init__(self, shapes: Graph) -> None:
        self.shapes = shapes
        self.shared: dict = {}

    def once(self, make: Callable, *args, key: object = None):
        """``make(*args)``, made once for the same arguments (or ``key``)."""
        key = (make, *args) if key is None else (make, key)
        value = self.shared.get(key)
        if value is None:
            if len(self.shared) >= _SHARED_MAX:
                self.shared.clear()
            value = self.shared[key] = make(*args)
        return value

    def result(self, r, messages_key: object) -> Result:
        path = r.path
        shapes = self.shapes
        return Result(
            focus_node=_term_str(r.focus) or "",
            path=self.once(_path_str, shapes, path),
            message=self.once(_chosen_message, r.messages, key=messages_key),
            severity=self.once(_severity_name, r.severity),
            source_shape=self.once(_term_str, r.shape),
            source_constraint_component=self.once(_term_str, r.component),
            value=_term_str(r.value),
            value_display=_term_display(r.value),
            path_display=None if path is None else self.once(_path_sparql, shapes, path),
        )

    def turtle(self, pairs: list[tuple[Node, Node]]) -> str:
        """A result's (predicate, object) pairs as the body of its Turtle blank node."""
        once = self.once
        return " ;\n        ".join(
            f"{once(_turtle, p)} {_turtle(o) if p in _OWN_OBJECTS else once(_turtle, o)}"
            for p, o in pairs
        )


_SHARED_MAX = 10_000
_OWN_OBJECTS = {SH.focusNode, SH.value}
"""Predicates whose objects are a result's own (not worth sharing)."""


def _raw_pairs(r) -> list[tuple[Node, Node]]:
    """A raw result's (predicate, object) pairs in the Turtle report."""
    pairs = [
        (RDF.type, SH.ValidationResult),
        (SH.resultSeverity, r.severity),
        (SH.sourceConstraintComponent, r.component),
    ]
    if r.shape is not None:
        pairs.append((SH.sourceShape, r.shape))
    pairs.append((SH.focusNode, r.focus))
    if r.value is not None:
        pairs.append((SH.value, r.value))
    if r.path is not None:
        pairs.append((SH.resultPath, r.path))
    if r.source_constraint is not None:
        pairs.append((SH.sourceConstraint, r.source_constraint))
    pairs += [(SH.resultMessage, message) for message in r.messages]
    return pairs


def _shared_row_parts(shapes, severity, component, shape, path, constraint, messages) -> tuple:
    """What the rows of a shape's results share (:meth:`ResultSink._rows`): the path, message,
    severity, shape and component as strings, the path as shown, and the Turtle body before
    the focus node, between it and the value, and after the value."""
    from treatykg.shacl_sparql import RawResult

    focus, value = BNode(f"f{uuid.uuid4().hex}"), BNode(f"v{uuid.uuid4().hex}")
    result = RawResult(focus, path, value, list(messages), severity, shape, component, constraint)
    body = " ;\n        ".join(f"{_turtle(p)} {_turtle(o)}" for p, o in _raw_pairs(result))
    head, rest = body.split(_turtle(focus), 1)
    middle, tail = rest.split(_turtle(value), 1)
    return (
        _path_str(shapes, path),
        _chosen_message(list(messages)),
        _severity_name(severity),
        _term_str(shape),
        _term_str(component),
        None if path is None else _path_sparql(shapes, path),
        head, middle, tail,
    )  # fmt: skip


def _ill_typed_row(subject: Node, predicate: Node, literal: Literal) -> Result:
    return Result(
        focus_node=_term_str(subject) or "",
        path=str(predicate),
        message=_ill_typed_message(literal),
        severity="Violation",
        source_shape=None,
        source_constraint_component=str(WELL_TYPED_LITERAL),
        value=_term_str(literal),
        value_display=_term_display(literal),
        path_display=prefixed_name(str(predicate)),
    )


def _ill_typed_rows(triples: Iterable[tuple], maker: _ResultMaker) -> Iterator[tuple]:
    """Keyed rows of :meth:`SpilledResults.add` for ill-typed literals given as pyoxigraph
    terms: the fields of :func:`_ill_typed_row` and the Turtle body of
    :func:`_ill_typed_result`, made from strings with what a predicate and datatype share made
    once. (An rdflib literal of an ill-typed value took about 25 µs to make: 300,000 of them,
    made into rows and written, took 29 s through rdflib terms and 7.8 s this way.)"""
    from treatykg.shacl_sparql import _rdflib, rdflib_literal

    for subject, predicate, literal in triples:
        shared = maker.once(_ill_typed_parts, predicate.value, literal.datatype.value)
        focus = _rdflib(subject)
        if shared is None:
            t = (focus, _rdflib(predicate), rdflib_literal(literal))
            yield _row(
                _ill_typed_row(*t), maker.turtle(_ill_typed_result(*t)), _named_key(t[0], t[2])
            )
            continue
        path, path_display, datatype_name, datatype_n3, head, middle, tail = shared
        lexical = literal.value
        quoted = json.dumps(lexical, ensure_ascii=False)
        value_n3 = f"{Literal(lexical).n3()}^^{datatype_n3}"
        message = f"{quoted} is not a valid {datatype_name}: an ill-typed literal"
        yield (
            _term_str(focus) or "", path, message, "Violation", None, str(WELL_TYPED_LITERAL),
            lexical, f"{quoted}^^{datatype_name}", path_display,
            f"{head}{_turtle(focus)}{middle}{value_n3}{tail}{Literal(message).n3()}@en",
            f"{focus.n3()} {value_n3}",
        )  # fmt: skip


def _ill_typed_parts(predicate: str, datatype: str) -> tuple | None:
    """What the rows of :func:`_ill_typed_rows` share for a predicate and datatype, or None
    for the datatypes whose literals rdflib writes its own way: numbers (``INF``, ``NaN``) and
    booleans (rdflib reads an ill-typed boolean as false, and writes it so)."""
    if datatype in _OWN_WAY:
        return None
    pairs = _ill_typed_result(BNode("focus"), URIRef(predicate), Literal("value", lang="x"))
    pairs[-1] = (pairs[-1][0], Literal("message", lang="x"))
    body = " ;\n        ".join(f"{_turtle(p)} {_turtle(o)}" for p, o in pairs)
    head, rest = body.split("_:focus", 1)
    middle, rest = rest.split('"value"@x', 1)
    tail = rest.rsplit('"message"@x', 1)[0]
    return (
        predicate, prefixed_name(predicate), prefixed_name(datatype), URIRef(datatype).n3(),
        head, middle, tail,
    )  # fmt: skip


_OWN_WAY = {str(XSD.float), str(XSD.double), str(XSD.decimal), str(XSD.boolean)}


def _inconsistency_row(message: str) -> Result:
    match = _LAST_IRI.search(message)
    return Result(
        focus_node=match.group(1) if match else "",
        path=None,
        message=f"OWL 2 RL: {message}",
        severity="Violation",
        source_shape=None,
        source_constraint_component=str(OWL_RL_CONSISTENCY),
        value=None,
    )


def _turtle_head(conforms: bool) -> str:
    head = "".join(f"@prefix {prefix}: <{namespace}> .\n" for prefix, namespace in PREFIXES.items())
    return (
        head + "\n_:report a sh:ValidationReport ;\n"
        f"    sh:conforms {'true' if conforms else 'false'} .\n"
    )


def _write_paths(out: TextIO, shapes: Graph, paths: set) -> None:
    """Write the blank-node structure of complex result paths, from the shapes."""
    if paths:
        structure = Graph()
        for path in paths:
            _copy_path(shapes, structure, path)
        out.write("\n")
        for s, p, o in sorted(structure):
            out.write(f"{_turtle(s)} {_turtle(p)} {_turtle(o)} .\n")


def _report_from_raw(raw: list, shapes: Graph, ill: list, inconsistencies: list[str]) -> Report:
    """Turn the fast engine's results into a :class:`Report` (its graph built on demand)."""
    maker = _ResultMaker(shapes)
    results = []
    named = set()
    for r in raw:
        named.add((r.focus, r.value))
        # The raw results are all kept until the end: a list's id is not reused meanwhile.
        results.append(maker.result(r, id(r.messages)))
    extra = [t for t in dict.fromkeys(ill) if (t[0], t[2]) not in named]
    extra_rows = [_ill_typed_row(*t) for t in extra]
    inconsistency_rows = [_inconsistency_row(message) for message in inconsistencies]
    results_by_raw = list(results)
    results += extra_rows + inconsistency_rows
    results = sorted(results, key=Result.sort_key)
    conforms = not any(r.severity == "Violation" for r in results)

    paths = {r.path for r in raw if isinstance(r.path, BNode)}

    def result_pairs() -> Iterator[list[tuple[Node, Node]]]:
        """Each result's (predicate, object) pairs, in the report's order."""
        for i in _report_order(results_by_raw):
            yield _raw_pairs(raw[i])
        for i in _report_order(extra_rows):
            yield _ill_typed_result(*extra[i])
        for i in _report_order(inconsistency_rows):
            yield _inconsistency_result(inconsistencies[i])

    def build() -> Graph:
        graph = Graph()
        report = BNode()
        graph.add((report, RDF.type, SH.ValidationReport))
        graph.add((report, SH.conforms, Literal(conforms)))
        for pairs in result_pairs():
            node = BNode()
            graph.add((report, SH.result, node))
            for p, o in pairs:
                graph.add((node, p, o))
        for path in paths:
            _copy_path(shapes, graph, path)
        return graph

    def write(out: TextIO) -> None:
        out.write(_turtle_head(conforms))
        for pairs in result_pairs():
            body = " ;\n        ".join(f"{_turtle(p)} {_turtle(o)}" for p, o in pairs)
            out.write(f"\n_:report sh:result [\n        {body}\n    ] .\n")
        _write_paths(out, shapes, paths)

    return Report(
        conforms=conforms,
        results=results,
        _build_graph=build,
        _write_turtle=write,
        engine="oxigraph",
    )


def _report_order(rows: list[Result]) -> list[int]:
    """The positions of ``rows`` in the report's order (ties in the order they came)."""
    return sorted(range(len(rows)), key=lambda i: rows[i].sort_key())


SPILL_THRESHOLD = 100_000
"""A report of more results than this keeps them in a database on disk (:class:`SpilledResults`)
instead of in memory, where each took about 1 KB."""


class ResultSink:
    """Collects the fast engine's raw results (``Plan.check``'s ``results``): in a list up to
    :data:`SPILL_THRESHOLD`, then, made into rows, in a :class:`SpilledResults` database.

    Give it the ill-typed literals first (:meth:`ill_typed`): a result naming one replaces its
    ``tkg:WellTypedLiteral`` violation."""

    def __init__(self, shapes: Graph) -> None:
        self.shapes = shapes
        self.held: list = []
        self.spilled: SpilledResults | None = None
        self.ill: list = []
        self._ill_pairs: set = set()
        self._ill_keyed = False
        self.named: set = set()
        self.paths: set = set()
        self._maker = _ResultMaker(shapes)
        self._closed = False

    def ill_typed(self, count: int, triples: Iterable[tuple]) -> None:
        """Take the ill-typed literals' ``count`` (subject, predicate, literal as written)
        triples (pyoxigraph terms, each once): held, or, past :data:`SPILL_THRESHOLD`, written
        into the database at once as results, keyed so that those a shape's result names are
        dropped there (:meth:`SpilledResults.finish`)."""
        from treatykg.shacl_sparql import _rdflib, rdflib_literal

        if count <= SPILL_THRESHOLD:
            self.ill = [(_rdflib(s), _rdflib(p), rdflib_literal(o)) for s, p, o in triples]
            self._ill_pairs = {(subject, literal) for subject, _p, literal in self.ill}
            return
        self.spilled = SpilledResults()
        self._ill_keyed = True
        self.spilled.add(1, _ill_typed_rows(triples, self._maker))

    def extend(self, found: Iterable) -> None:
        if self._closed:  # after Ctrl-C, a checking thread may still finish its query
            return
        if self.spilled is None:
            self.held.extend(found)
            if len(self.held) + len(self.ill) <= SPILL_THRESHOLD:
                return
            found, self.held = self.held, []
            self.spilled = SpilledResults()
        self.spilled.add(0, self._rows(found))

    def _rows(self, found: Iterable) -> Iterator[tuple]:
        """Each raw result as a row of :meth:`SpilledResults.add`."""
        maker, ill_pairs, shapes, keyed = self._maker, self._ill_pairs, self.shapes, self._ill_keyed
        for r in found:
            focus, value, path = r.focus, r.value, r.path
            if ill_pairs and (focus, value) in ill_pairs:
                self.named.add((focus, value))
            if isinstance(path, BNode):
                self.paths.add(path)
            # All but the focus node and the value are the shape's: made once.
            messages = tuple(r.messages)
            shared = maker.once(
                _shared_row_parts,
                shapes, r.severity, r.component, r.shape, path, r.source_constraint, messages,
            )  # fmt: skip
            path_str, message, severity, shape, component, path_display = shared[:6]
            head, middle, tail = shared[6:]
            if value is None:
                turtle = f"{head}{_turtle(focus)}{tail}"
            else:
                turtle = f"{head}{_turtle(focus)}{middle}{_turtle(value)}{tail}"
            yield (
                _term_str(focus) or "", path_str, message, severity, shape, component,
                _term_str(value), _term_display(value), path_display, turtle,
                _named_key(focus, value) if keyed and isinstance(value, Literal) else None,
            )  # fmt: skip

    def close(self) -> None:
        self._closed = True
        if self.spilled is not None:
            self.spilled.close()

    def report(self, inconsistencies: list[str]) -> Report:
        """The report of the results collected, the ill-typed literals no result names and
        the OWL 2 RL inconsistencies."""
        if self.spilled is None:
            if len(self.held) + len(self.ill) + len(inconsistencies) <= SPILL_THRESHOLD:
                return _report_from_raw(self.held, self.shapes, self.ill, inconsistencies)
            held, self.held = self.held, []
            self.spilled = SpilledResults()
            self.spilled.add(0, self._rows(held))
        spilled, maker = self.spilled, self._maker
        if not self._ill_keyed:
            extra = [t for t in self.ill if (t[0], t[2]) not in self.named]
            spilled.add(
                1, (_row(_ill_typed_row(*t), maker.turtle(_ill_typed_result(*t))) for t in extra)
            )
        spilled.add(
            2,
            (
                _row(_inconsistency_row(m), maker.turtle(_inconsistency_result(m)))
                for m in inconsistencies
            ),
        )
        counts = spilled.finish(drop_named=self._ill_keyed)
        conforms = counts.get("Violation", 0) == 0
        shapes, paths = self.shapes, self.paths

        def write(out: TextIO) -> None:
            out.write(_turtle_head(conforms))
            for body in spilled.turtle_bodies():
                out.write(f"\n_:report sh:result [\n        {body}\n    ] .\n")
            _write_paths(out, shapes, paths)

        def build() -> Graph:
            text = io.StringIO()
            write(text)
            return Graph().parse(data=text.getvalue(), format="turtle")

        return Report(
            conforms=conforms,
            results=spilled,
            _build_graph=build,
            _write_turtle=write,
            engine="oxigraph",
            _counts=counts,
        )


_COLUMNS = (
    "focus_node, path, message, severity, source_shape, source_constraint_component, value, "
    "value_display, path_display"
)
_ORDER = (
    "CASE severity WHEN 'Violation' THEN 0 WHEN 'Warning' THEN 1 WHEN 'Info' THEN 2 ELSE 9 END, "
    "focus_node, IFNULL(path, ''), IFNULL(source_constraint_component, ''), "
    "IFNULL(source_shape, ''), IFNULL(value, ''), message, part, seq"
)
""":meth:`Result.sort_key`, then the order the results came in, the shapes' results first
(Python's sort is stable):
SQLite compares text by its UTF-8 bytes, which orders as Python compares code points."""


class SpilledResults(Sequence):
    """A report's results in an SQLite database (stdlib ``sqlite3``) in a private temporary
    folder (:func:`treatykg.tempfiles.private_dir`), read back in the report's order: a
    read-only sequence of :class:`Result`.

    Rows are added in parts (0: the shapes' results, 1: ill-typed literals, 2: OWL 2 RL
    inconsistencies), each with the body of its Turtle blank node and a key naming its focus
    node and literal value (or none); :meth:`finish` sorts them (by :meth:`Result.sort_key`,
    ties in the order they came) into a table read by position.
    The folder is removed by :meth:`close`, when the object is collected, at the process's
    exit, or, after a ``kill -9``, by the next treatykg command.
    """

    def __init__(self) -> None:
        self.folder, self._db, self._finalizer = tempfiles.private_database(
            self, "results.sqlite3", "the report has too many results to keep in memory"
        )
        self._db.executescript(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -32768;"
            f"CREATE TABLE raw (seq INTEGER PRIMARY KEY, part INTEGER, {_COLUMNS}, turtle,"
            " named_key);"
        )
        self._length = 0

    def add(self, part: int, rows: Iterable[tuple]) -> None:
        """Add rows to ``part``: a :class:`Result`'s fields in order, its Turtle body, and its
        key (:func:`_named_key`, or None)."""
        self._guarded(
            self._db.executemany,
            f"INSERT INTO raw (part, {_COLUMNS}, turtle, named_key) "
            f"VALUES ({part},?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )

    def finish(self, drop_named: bool = False) -> dict[str, int]:
        """Sort the rows; return the number of results of each severity. With ``drop_named``,
        first drop the ill-typed literals (part 1) whose key a shape's result (part 0) has."""
        drop = (
            "DELETE FROM raw WHERE part = 1 AND named_key IN "
            "(SELECT named_key FROM raw WHERE part = 0 AND named_key IS NOT NULL);"
        )
        self._guarded(
            self._db.executescript,
            (drop if drop_named else "")
            + f"CREATE TABLE results (pos INTEGER PRIMARY KEY, seq, part, {_COLUMNS}, turtle);"
            f"INSERT INTO results (seq, part, {_COLUMNS}, turtle) "
            f"SELECT seq, part, {_COLUMNS}, turtle FROM raw ORDER BY {_ORDER};"
            "DROP TABLE raw; CREATE INDEX extra ON results (part, pos) WHERE part > 0;",
        )
        counts = dict(self._db.execute("SELECT severity, COUNT(*) FROM results GROUP BY severity"))
        self._length = sum(counts.values())
        return counts

    def _guarded(self, call: Callable, *args) -> None:
        import sqlite3

        try:
            with self._db:
                call(*args)
        except sqlite3.Error as error:
            self.close()
            raise TreatyKGError(
                f"the report's temporary database in {self.folder} failed: {error} "
                "(set TMPDIR to a folder with more room)"
            ) from None

    def close(self) -> None:
        """Remove the database and its folder."""
        self._finalizer()

    def turtle_bodies(self) -> Iterator[str]:
        """The results' Turtle bodies in the Turtle report's order: the shapes' results, then
        the ill-typed literals, then the inconsistencies, each in the report's order."""
        for (body,) in self._db.execute("SELECT turtle FROM results WHERE part = 0 ORDER BY pos"):
            yield body
        for (body,) in self._db.execute(
            "SELECT turtle FROM results WHERE part > 0 ORDER BY part, pos"
        ):
            yield body

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[Result]:
        for row in self._db.execute(f"SELECT {_COLUMNS} FROM results ORDER BY pos"):
            yield Result(*row)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._length))]
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError("result index out of range")
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM results WHERE pos = ?", (index + 1,)
        ).fetchone()
        return Result(*row)

    def __repr__(self) -> str:
        return f"<{self._length} results in {self.folder}>"


def _row(r: Result, turtle: str, key: str | None = None) -> tuple:
    return (*_fields(r), turtle, key)


def _named_key(focus: Node, value: Node) -> str:
    """What names a focus node and a literal value in :class:`SpilledResults` (a shape's
    result naming an ill-typed literal replaces its own violation)."""
    return f"{focus.n3()} {value.n3()}"


def _fields(r: Result) -> tuple:
    """A result's fields in order (``dataclasses.astuple`` copies each value deeply)."""
    return (
        r.focus_node, r.path, r.message, r.severity, r.source_shape,
        r.source_constraint_component, r.value, r.value_display, r.path_display,
    )  # fmt: skip


def _turtle(term: Node) -> str:
    """A term in Turtle: a prefixed name where it is a plain ASCII one, else in full."""
    if isinstance(term, URIRef):
        name = prefixed_name(str(term))
        if not name.startswith("<") and name.isascii():
            return name
    return term.n3()


def _severity_name(severity: Node) -> str:
    return str(severity).rsplit("#", 1)[-1]


def _chosen_message(messages: list[Literal]) -> str:
    """The message shown for a result: its English (or untagged) messages, one line each."""
    preferred = [m for m in messages if not m.language or m.language.lower().startswith("en")]
    chosen = sorted({" ".join(str(m).split()) for m in (preferred or messages)})
    return "; ".join(chosen) or "(no message)"


def _copy_path(shapes: Graph, graph: Graph, path: Node) -> None:
    """Copy a complex path's blank-node structure from the shapes graph into ``graph``."""
    if not isinstance(path, BNode):
        return
    for p, o in shapes.predicate_objects(path):
        graph.add((path, p, o))
        _copy_path(shapes, graph, o)


OWL_RL_CONSISTENCY = TKG.OwlRlConsistency
"""The constraint component named by results of the OWL 2 RL consistency check."""

_LAST_IRI = re.compile(r"(https?://[^\s<>\"]+)\s*$")


def _inconsistency_result(message: str) -> list[tuple[Node, Node]]:
    """The (predicate, object) pairs of an OWL 2 RL inconsistency's result: a violation whose
    focus node is the IRI the message ends with (owlrl names the offending individual last),
    or none if it has none."""
    pairs = [
        (RDF.type, SH.ValidationResult),
        (SH.resultSeverity, SH.Violation),
        (SH.sourceConstraintComponent, OWL_RL_CONSISTENCY),
        (SH.resultMessage, Literal(f"OWL 2 RL: {message}")),
    ]
    match = _LAST_IRI.search(message)
    if match:
        pairs.append((SH.focusNode, URIRef(match.group(1))))
    return pairs


def _add_inconsistency(report_graph: Graph, message: str) -> None:
    """Add an OWL 2 RL inconsistency to a SHACL report graph as a violation result."""
    report = report_graph.value(predicate=RDF.type, object=SH.ValidationReport, any=True)
    result = BNode()
    report_graph.add((report, SH.result, result))
    for p, o in _inconsistency_result(message):
        report_graph.add((result, p, o))
