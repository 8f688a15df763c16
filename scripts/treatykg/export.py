"""Write the ontology and the graph as one file, for a store's bulk loader or for download.

``treatykg export`` is the offline counterpart of ``treatykg load``: one TriG or N-Quads file
that keeps every named graph (the provenance: one graph per source), or one Turtle or
N-Triples file holding the union of the graphs for tools that know no named graphs.

The file is written next to its final place and renamed into it only once it is complete and
has been parsed back to the same number of statements: an existing file is replaced whole or
left as it was. An output that is a symbolic link is written through: the file it points to gets
the new content and the link stays a link. An existing file keeps its permissions (a 0640 export
stays 0640); a new one gets those of any new file (0644 under the usual umask).

Literals are written as the files write them (``"6"^^xsd:positiveInteger`` stays so), not as a
store would keep them. Language tags are written in lower case (``"…"@zh-hans``), as Oxigraph's
parser gives them and as Wikidata writes them; RDF compares language tags without regard to
case, so ``zh-Hans`` in graph/*.ttl and ``zh-hans`` here are the same tag.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from treatykg.catalogue import PARAMETER_PREFIXES
from treatykg.errors import InputError
from treatykg.loading import FileSpec, files_with_graphs, parse_file

# Name: (pyoxigraph format, keeps named graphs, file suffixes that select it).
FORMATS: dict[str, tuple[ox.RdfFormat, bool, tuple[str, ...]]] = {
    "trig": (ox.RdfFormat.TRIG, True, (".trig",)),
    "nquads": (ox.RdfFormat.N_QUADS, True, (".nq", ".nquads")),
    "turtle": (ox.RdfFormat.TURTLE, False, (".ttl",)),
    "ntriples": (ox.RdfFormat.N_TRIPLES, False, (".nt",)),
}

EXPORT_PREFIXES: dict[str, str] = {
    **{p: ns for p, ns in PARAMETER_PREFIXES.items() if p not in {"sh", "tkgsh"}},
    "vann": "http://purl.org/vocab/vann/",
}
"""The prefixes written into Turtle and TriG: those a query parameter may use (the vocabularies,
one per entity type, ``g:``; ``org:`` is the graph's organisations, as in graph/*.ttl), less the
shapes' own, plus the ontology's metadata vocabulary."""


@dataclass(frozen=True)
class ExportReport:
    """What was written: where, in which format, how many statements in how many graphs."""

    path: str  # "-" for standard output
    format: str
    statements: int
    graphs: int

    def summary(self) -> str:
        what = (
            f"{self.statements} quads in {self.graphs} named graphs"
            if FORMATS[self.format][1]
            else f"{self.statements} triples (the union of {self.graphs} named graphs)"
        )
        where = "standard output" if self.path == "-" else self.path
        return f"wrote {what} to {where} as {self.format}"


def format_for(output: str, given: str | None) -> str:
    """Return the format name: ``given``, else the one ``output``'s suffix selects, else trig."""
    if given is not None:
        if given not in FORMATS:
            raise InputError(f"unknown format {given!r}; choose one of: {', '.join(FORMATS)}")
        return given
    if output == "-":
        return "trig"
    suffix = Path(output).suffix.lower()
    for name, (_, _, suffixes) in FORMATS.items():
        if suffix in suffixes:
            return name
    known = ", ".join(s for _, _, suffixes in FORMATS.values() for s in suffixes)
    raise InputError(f"{output}: cannot tell the format from the suffix ({known}); use --format")


def dataset_quads(files: Iterable[FileSpec] | None = None) -> list[ox.Quad]:
    """Return every statement of the files (None: the ontology and the graph), each in its named
    graph, with its literals as written.

    Not through a Store: Oxigraph's store keeps numbers by value, so ``"6"^^xsd:positiveInteger``
    would come out as ``"6"^^xsd:integer`` and ``39.904200`` as ``39.9042``, and the exported
    graph would no longer conform to the shapes (``tkg:articleNumber`` is an xsd:positiveInteger)
    in another store or SHACL engine. A statement written twice in one graph is written once.
    """
    quads: dict[ox.Quad, None] = {}
    for path, graph in files_with_graphs(files):
        name = ox.NamedNode(graph)
        for quad in parse_file(path):
            quads[ox.Quad(quad.subject, quad.predicate, quad.object, name)] = None
    return list(quads)


def serialize(quads: list[ox.Quad], name: str) -> tuple[bytes, int]:
    """Return the quads in format ``name`` and the number of statements written."""
    rdf_format, keeps_graphs, _ = FORMATS[name]
    prefixes = EXPORT_PREFIXES if rdf_format in (ox.RdfFormat.TRIG, ox.RdfFormat.TURTLE) else None
    if keeps_graphs:
        # Each graph's statements together, each subject's together: a compact, stable file.
        ordered = sorted(quads, key=lambda q: (str(q.graph_name), str(q.subject), str(q)))
        return ox.serialize(ordered, format=rdf_format, prefixes=prefixes), len(quads)
    union = {ox.Triple(q.subject, q.predicate, q.object) for q in quads}
    ordered_triples = sorted(union, key=str)  # each subject's triples together
    return ox.serialize(ordered_triples, format=rdf_format, prefixes=prefixes), len(union)


def export(
    output: str = "-", name: str | None = None, files: Iterable[FileSpec] | None = None
) -> ExportReport:
    """Write the ontology and graph (or ``files``) to ``output`` ("-": standard output).

    Raises :class:`~treatykg.errors.ParseError` or :class:`InputError` before anything is
    written; a file already at ``output`` is replaced only by a complete, re-parsed file.
    """
    target = None if output == "-" else Path(output)
    if target is not None:
        if target.is_dir():
            raise InputError(f"{output}: is a folder; give a file name")
        if not target.parent.is_dir():
            raise InputError(f"{output}: no such folder {target.parent}")
    chosen = format_for(output, name)
    quads = dataset_quads(files)
    graphs = len({q.graph_name for q in quads})
    data, statements = serialize(quads, chosen)
    _check_round_trip(data, chosen, statements)
    report = ExportReport(output, chosen, statements, graphs)
    if target is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return report
    _write_atomically(_through_links(target), data)
    return report


def _through_links(target: Path) -> Path:
    """Return the file that ``target`` names once symbolic links are followed.

    Replacing the link itself (by a rename onto its name) would turn it into a plain file and
    leave the file it points to stale; the new content belongs in that file.
    """
    if not target.is_symlink():
        return target
    final = Path(os.path.realpath(target))
    if final.is_dir():
        raise InputError(f"{target}: links to a folder ({final}); give a file name")
    if not final.parent.is_dir():
        raise InputError(f"{target}: links to {final}, in no such folder {final.parent}")
    return final


def _check_round_trip(data: bytes, name: str, statements: int) -> None:
    parsed = sum(1 for _ in ox.parse(data, format=FORMATS[name][0]))
    if parsed != statements:  # a serialiser bug: never hand such a file to anyone
        raise InputError(f"the {name} output parses to {parsed} statements, not {statements}")


def _write_atomically(target: Path, data: bytes) -> None:
    try:
        handle, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".part"
        )
    except OSError as error:
        raise InputError(f"cannot write {target}: {error.strerror}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, _mode_for(target))  # mkstemp makes it private
        os.replace(temporary, target)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise InputError(f"cannot write {target}: {error.strerror}") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _mode_for(target: Path) -> int:
    """Return the permissions the written file gets: the existing file's, else a new file's."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
