"""Reading the project's RDF files: one strict parser, named graphs per source.

Every file is parsed first by pyoxigraph, which is strict (it rejects, for instance, an IRI with a
space, which rdflib accepts) and locates errors by line and column. A syntax error becomes a
:class:`~treatykg.errors.ParseError`; a missing file or folder an
:class:`~treatykg.errors.InputError`. The rdflib objects used for SHACL
(:mod:`treatykg.rdflib_graphs`) are built by converting the triples pyoxigraph parsed, so
pyoxigraph is the single gate.

Named graphs, one per source:

- ``graph/<source>/<name>.ttl`` → ``https://w3id.org/treatykg/graph/<source>``
  (a file directly in ``graph/``, ``graph/<name>.ttl``, is its own source ``<name>``);
- ``ontology/*.ttl`` → ``https://w3id.org/treatykg/graph/ontology``;
- ``shapes/*.ttl`` → ``https://w3id.org/treatykg/graph/shapes``;
- any other file (a user's own) → ``https://w3id.org/treatykg/graph/user/<file-stem>``.

Functions taking ``files`` accept paths, ``(path, graph IRI)`` pairs as returned by
:func:`project_files`, or ``None`` for the project's ontology and graph files.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox

from treatykg.errors import InputError, ParseError
from treatykg.namespaces import GRAPH
from treatykg.paths import graph_dir, ontology_dir, shapes_dir

FileSpec = Path | str | tuple[Path | str, str]
"""A file to load: a path (its graph is :func:`graph_name_for` it) or a (path, graph IRI) pair."""

# Known extensions only: pyoxigraph's own guess maps, for instance, ".txt" to N-Triples.
RDF_FORMATS: dict[str, ox.RdfFormat] = {
    ".ttl": ox.RdfFormat.TURTLE,
    ".nt": ox.RdfFormat.N_TRIPLES,
    ".n3": ox.RdfFormat.N3,
    ".rdf": ox.RdfFormat.RDF_XML,
    ".owl": ox.RdfFormat.RDF_XML,
    ".trig": ox.RdfFormat.TRIG,
    ".nq": ox.RdfFormat.N_QUADS,
    ".jsonld": ox.RdfFormat.JSON_LD,
}
"""The file extensions :func:`parse_file` reads, and their formats."""

# pyoxigraph 0.5 messages: "Parser error at line 3 between columns 1 and 5: <what> (x.ttl, line 3)"
# or "... at line 3 column 36: <what> (line 3)".
_PARSER_MESSAGE = re.compile(
    r"^Parser error (?:at line (?P<line>\d+) "
    r"(?:between columns (?P<col>\d+) and \d+|column (?P<col2>\d+))"
    r"|between line (?P<line2>\d+) column (?P<col3>\d+) and line \d+ column \d+): "
    r"(?P<what>.*?)(?: \([^()]*\bline \d+\))?$",
    re.DOTALL,
)


def graph_name_for(path: Path | str) -> str:
    """Return the IRI of the named graph that the file at ``path`` belongs to.

    The path need not exist. See the module docstring for the mapping.

    >>> from treatykg.paths import graph_dir
    >>> graph_name_for(graph_dir() / "treaties" / "treaty-1950.ttl")
    'https://w3id.org/treatykg/graph/treaties'
    >>> graph_name_for("/tmp/my extension.ttl")
    'https://w3id.org/treatykg/graph/user/my%20extension'
    """
    file = Path(path).resolve()
    graph_root = graph_dir().resolve()
    if file.is_relative_to(graph_root):
        parts = file.relative_to(graph_root).parts
        source = parts[0] if len(parts) > 1 else Path(parts[0]).stem
        return GRAPH + quote(source, safe="")
    if file.is_relative_to(ontology_dir().resolve()):
        return GRAPH + "ontology"
    if file.is_relative_to(shapes_dir().resolve()):
        return GRAPH + "shapes"
    # A name that is not UTF-8 (its bytes came in as surrogates) keeps its bytes, percent-encoded.
    return GRAPH + "user/" + quote(file.stem, safe="", errors="surrogateescape")


def _turtle_files(folder: Path, *, recursive: bool) -> list[Path]:
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder")
    found = folder.rglob("*.ttl") if recursive else folder.glob("*.ttl")
    # Skip hidden files (editor backups, lock files); sort by relative path for a stable order.
    files = [p for p in found if p.is_file() and not p.name.startswith(".")]
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


def ontology_files() -> list[Path]:
    """Return the vocabulary files ``ontology/**/*.ttl``, sorted. Raises :class:`InputError` if
    ``ontology/`` is missing."""
    return _turtle_files(ontology_dir(), recursive=True)


def project_files() -> list[tuple[Path, str]]:
    """Return the ontology and graph files, each with its graph IRI, in a stable order.

    Ontology files come first, then ``graph/`` recursively, each sorted by relative path.
    Raises :class:`InputError` if ``ontology/`` or ``graph/`` is missing.
    """
    files = ontology_files() + _turtle_files(graph_dir(), recursive=True)
    return [(path, graph_name_for(path)) for path in files]


def shape_files() -> list[Path]:
    """Return the SHACL files ``shapes/*.ttl``, sorted. Raises :class:`InputError` if missing."""
    return _turtle_files(shapes_dir(), recursive=False)


def _parse_error(path: Path, error: SyntaxError) -> ParseError:
    text = str(error.msg if error.msg else error)
    match = _PARSER_MESSAGE.match(text)
    line = error.lineno or (int(match["line"] or match["line2"]) if match else 0)
    column = error.offset or (int(match["col"] or match["col2"] or match["col3"]) if match else 0)
    what = match["what"] if match else text
    return ParseError(path, line, column, what)


def _format_of(file: Path) -> ox.RdfFormat:
    """Return the RDF format of a file by its extension; raise InputError if it cannot be read."""
    if not file.exists():
        raise InputError(f"{file}: no such file")
    if not file.is_file():
        raise InputError(f"{file}: not a file")
    rdf_format = RDF_FORMATS.get(file.suffix.lower())
    if rdf_format is None:
        known = ", ".join(RDF_FORMATS)
        raise InputError(f"{file}: unknown RDF file extension (expected one of {known})")
    return rdf_format


def parse_file(path: Path | str) -> list[ox.Quad]:
    """Parse one RDF file strictly with pyoxigraph and return its triples (as default-graph quads).

    The format comes from the file extension (``.ttl``, ``.nt``, ``.rdf``, ...). Blank nodes get
    fresh identifiers, so ``_:a`` in two files are two nodes. Named graphs inside a file (TriG,
    N-Quads) are refused: the graph is given by where the file lives.

    Raises :class:`ParseError` (``path:line:column: message``) on a syntax error and
    :class:`InputError` for a missing or unreadable file or an unknown extension.
    """
    file = Path(path)
    rdf_format = _format_of(file)
    try:
        return list(
            ox.parse(
                path=file,
                format=rdf_format,
                rename_blank_nodes=True,
                without_named_graphs=True,
            )
        )
    except SyntaxError as error:
        raise _parse_error(file, error) from None
    except OSError as error:
        raise InputError(f"{file}: {error.strerror or error}") from None


DISK_CHUNK = 50_000
"""Triples per call of Oxigraph's bulk loader when a validation store is on disk."""


def load_validation_store(
    files: Iterable[Path | str],
    progress: Callable[[int, Path], None] | None = None,
    when_loaded: Callable[[ox.Store, threading.Event], None] | None = None,
    directory: Path | None = None,
) -> tuple[ox.Store, object, dict[Path, int]]:
    """Return a store holding the union of ``files`` in its default graph (what SHACL
    validates), the notes on its typed literals, and the number of triples of each file.

    Two passes run side by side, on two cores where there are two: Oxigraph's own loader
    fills the store (in native code, without Python objects per triple), while a streaming
    parse here looks at each literal and counts the triples (and reports syntax errors by line
    and column, as :func:`parse_file` does). Memory beyond the store's own stays small. The
    notes (:class:`treatykg.shacl_sparql.LiteralNotes`) keep every literal the store does not
    keep as written, and every ill-typed one. ``progress(triples so far, file)`` is called every
    100,000 triples. ``when_loaded(store, parsed)``, if given, is called on the loader's thread
    once the store holds every file, while the streaming pass may still run: ``parsed`` is set
    when that pass is over, and this function returns only after ``when_loaded`` does.

    With ``directory``, the store is an on-disk one (RocksDB) in that folder, filled by the
    streaming pass itself, :data:`DISK_CHUNK` triples at a time through Oxigraph's bulk loader:
    its memory then stays flat whatever the input's size (measured: 89 MB peak for 1M
    triples), where an in-memory store takes about 330 MB per million triples and a single
    ``bulk_load`` of the whole input about 900 MB for 1M triples and 1.5 GB for 2.3M. There,
    ``when_loaded`` is called once the pass is over, on this thread.
    """
    from treatykg.shacl_sparql import LiteralChecker

    paths = [Path(spec) for spec in files]
    formats = [_format_of(path) for path in paths]
    if directory is not None:
        loaded = _load_on_disk(ox.Store(str(directory)), paths, formats, progress)
        if when_loaded is not None:
            parsed = threading.Event()
            parsed.set()
            when_loaded(loaded[0], parsed)
        return loaded
    store = ox.Store()
    failures: list[BaseException] = []

    parsed = threading.Event()

    def load_all() -> None:
        for path, rdf_format in zip(paths, formats, strict=True):
            try:
                # Lenient: the streaming pass below checks the syntax strictly (and reports
                # errors by line and column), so the store need not check it again; this
                # halves its parse time (IRI checks are most of it).
                store.load(path=path, format=rdf_format, lenient=True)
            except BaseException as error:  # reported by the streaming pass, or below
                failures.append(error)
                return
        if when_loaded is not None:
            when_loaded(store, parsed)

    loader = threading.Thread(target=load_all, name="treatykg-load", daemon=True)
    loader.start()
    checker = LiteralChecker()
    counts: dict[Path, int] = {}
    try:
        for _quad in _streamed(paths, formats, checker, counts, progress):
            pass
        checker.flush()
    finally:
        parsed.set()
        loader.join()
    if failures:
        error = failures[0]
        if isinstance(error, OSError):
            raise InputError(f"{error.filename}: {error.strerror or error}") from None
        raise InputError(f"the store could not load the data: {error}") from None
    return store, checker.notes, counts


def _load_on_disk(
    store: ox.Store,
    paths: list[Path],
    formats: list[ox.RdfFormat],
    progress: Callable[[int, Path], None] | None,
) -> tuple[ox.Store, object, dict[Path, int]]:
    """The on-disk flavour of :func:`load_validation_store`: one strict parse feeds both the
    literal checker and the store (a second parse on another thread would only wait for
    Python's lock, since each triple comes through Python here)."""
    from treatykg.shacl_sparql import LiteralChecker

    checker = LiteralChecker()
    counts: dict[Path, int] = {}
    chunk: list[ox.Quad] = []
    for quad in _streamed(paths, formats, checker, counts, progress):
        chunk.append(quad)
        if len(chunk) >= DISK_CHUNK:
            _write_chunk(store, chunk)
            chunk = []
    _write_chunk(store, chunk)
    checker.flush()
    return store, checker.notes, counts


def _streamed(
    paths: list[Path],
    formats: list[ox.RdfFormat],
    checker: object,
    counts: dict[Path, int],
    progress: Callable[[int, Path], None] | None,
) -> Iterator[ox.Quad]:
    """Parse the files strictly, one after the other, and yield their triples; each typed
    literal goes to ``checker`` (a LiteralChecker), each file's triple count into ``counts``,
    ``progress(triples so far, file)`` every 100,000 triples. Syntax and file errors raise
    :class:`ParseError`/:class:`InputError`."""
    total = 0
    for path, rdf_format in zip(paths, formats, strict=True):
        count = 0
        try:
            for quad in ox.parse(
                path=path,
                format=rdf_format,
                rename_blank_nodes=True,
                without_named_graphs=True,
            ):
                obj = quad.object
                if type(obj) is ox.Literal and obj.language is None:
                    checker.add(quad, obj)
                count += 1
                if progress is not None and count % 100_000 == 0:
                    progress(total + count, path)
                yield quad
        except SyntaxError as error:
            raise _parse_error(path, error) from None
        except OSError as error:
            raise InputError(f"{path}: {error.strerror or error}") from None
        total += count
        counts[path] = count
        if progress is not None:
            progress(total, path)


def _write_chunk(store: ox.Store, chunk: list[ox.Quad]) -> None:
    try:
        store.bulk_extend(chunk)
    except OSError as error:  # the disk is full, most likely
        raise InputError(f"the on-disk validation store could not be written: {error}") from None


def files_with_graphs(files: Iterable[FileSpec] | None = None) -> list[tuple[Path, str]]:
    """Return each file with the IRI of its named graph (None: the project's ontology and graph)."""
    return _with_graphs(files)


def _with_graphs(files: Iterable[FileSpec] | None) -> list[tuple[Path, str]]:
    if files is None:
        return project_files()
    pairs = []
    for spec in files:
        if isinstance(spec, tuple):
            path, graph = spec
            pairs.append((Path(path), graph))
        else:
            pairs.append((Path(spec), graph_name_for(spec)))
    return pairs


def load_store(files: Iterable[FileSpec] | None = None) -> ox.Store:
    """Return an in-memory pyoxigraph Store holding every file in its named graph.

    >>> store = load_store()  # the project's ontology and graph
    """
    store = ox.Store()
    for path, graph in _with_graphs(files):
        graph_name = ox.NamedNode(graph)
        quads = parse_file(path)
        store.extend(ox.Quad(q.subject, q.predicate, q.object, graph_name) for q in quads)
    return store


def count_triples(files: Iterable[FileSpec] | None = None) -> dict[str, int]:
    """Return the number of distinct triples in each named graph, keyed by graph IRI (sorted)."""
    store = load_store(files)
    counts: dict[str, int] = {}
    for quad in store:
        name = quad.graph_name.value  # always a NamedNode: load_store puts nothing elsewhere
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))


def bcp47_case(tag: str) -> str:
    """Return a language tag in BCP 47's conventional case (tags are case-insensitive).

    pyoxigraph lower-cases tags; this restores the form authors write.

    >>> bcp47_case("zh-hans"), bcp47_case("en-gb"), bcp47_case("ru"), bcp47_case("de-x-hant")
    ('zh-Hans', 'en-GB', 'ru', 'de-x-hant')
    """
    subtags = tag.lower().split("-")
    out = subtags[:1]
    for subtag in subtags[1:]:
        if len(out[-1]) == 1:  # after a singleton (x-, u-...) the case is free: keep lower
            out += subtags[len(out) :]
            break
        if len(subtag) == 4 and subtag.isalpha():
            subtag = subtag.title()  # script
        elif len(subtag) == 2 and subtag.isalpha():
            subtag = subtag.upper()  # region
        out.append(subtag)
    return "-".join(out)
