"""Benchmark `treatykg validate` against its peers on the project's graph scaled up.

The data: the ontology plus the project's graph copied N times, each copy under renamed IRIs
(``…/id/person/zhou-enlai`` becomes ``…/id/person/zhou-enlai-c7``, Wikidata items
``Q148`` become ``Q148000007``, so that the copies conform as the graph does), as one N-Triples
file. Each tool runs as its own process on the same file with the same shapes; the script
prints wall time, CPU time and peak memory (the process's maximum resident set) of each.

    python benchmarks/validate_benchmark.py                    # 1x, 10x, 100x, 600x (~1 M), 1000x
    python benchmarks/validate_benchmark.py --copies 1 10 --peers pyshacl jena
    python benchmarks/validate_benchmark.py --copies 100 440 1000 --peers --disk  # memory

``--violations N ...`` also validates N bare persons (``<…/id/person/pN> a tkg:Person``, nothing
else: three violations each), to measure what a report of many results takes in each format.

``--literals N ...`` validates N triples whose literal the store keeps in another form than
written (``"01"^^xsd:integer``, ``"1.50"^^xsd:decimal``): what the notes of such literals take.
``--ill-typed N ...`` validates N triples with an ill-typed date (``"1950-13-7"^^xsd:date``):
each is noted and reported as a violation.
``--formats`` picks the report formats of the ``--violations`` runs.

``--disk`` adds a row per size for ``treatykg validate --memory-limit 0``: the data in an
on-disk store (what data over the memory limit gets) instead of in memory. The load average
before each run is printed in its row: the machine may be busy, and then wall times say little (CPU
times and peak memory less so).

Peers: ``pyshacl`` (``treatykg validate --engine pyshacl``; by default only up to 10x, it
takes minutes beyond), ``jena`` (Apache Jena's ``shacl validate``, when ``java`` and Jena's
jars are found: give the classpath in ``$JENA_CP``, or the script
``$JENA_CLASSPATH_SCRIPT`` that prints one), ``pyrudof`` (if installed). ``treatykg validate &&
treatykg query run-all`` on the project's graph is timed too, as a whole.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox

from treatykg import loading

ID = "https://w3id.org/treatykg/id/"
GRAPH = "https://w3id.org/treatykg/graph/"
WD = "http://www.wikidata.org/entity/Q"
_RENAMED = re.compile(
    "<(?:"
    + re.escape(ID)
    + r"(?P<type>[a-z]+)/(?P<slug>[a-z0-9-]+)|"
    + re.escape(GRAPH)
    + r"(?P<graph>[^>]+)|"
    + re.escape(WD)
    + r"(?P<q>[1-9][0-9]*))>"
)


def generate(copies: int, path: Path) -> int:
    """Write the ontology and ``copies`` copies of the graph to ``path`` (N-Triples); return
    the number of triples written.

    Copy 0 is the graph as it is; copy k renames ``…/id/<type>/<slug>`` to
    ``…/id/<type>/c<k>-<slug>``, ``…/graph/<name>`` to ``…/graph/c<k>-<name>`` and Wikidata
    items ``Q<n>`` to ``Q<n>0<k, 5 digits>``, keeping the IRIs the shapes name (concept lists,
    states; those are described once), so that every copy conforms as the graph does.
    """
    shapes_text = "".join(f.read_text(encoding="utf-8") for f in loading.shape_files())
    kept = {
        term.value
        for f in loading.shape_files()
        for q in loading.parse_file(f)
        for term in (q.subject, q.object)
        if isinstance(term, ox.NamedNode)
    } | set(re.findall(r"<(https?://[^<>\s]+)>", shapes_text))
    graph = [
        q
        for f, _g in loading.project_files()
        if f not in set(loading.ontology_files())
        for q in loading.parse_file(f)
    ]
    ontology = {_nt(q) for f in loading.ontology_files() for q in loading.parse_file(f)}
    base = sorted({_nt(q) for q in graph} - ontology)
    # The Wikidata link records of entities described once are written once too.
    linked = "<https://w3id.org/treatykg/ontology#linkedEntity>"
    shared = set(kept)
    for line in base:
        subject, predicate, rest = line.split(" ", 2)
        if predicate == linked and rest[1 : rest.index(">")] in kept:
            shared.add(subject[1:-1])
    written = 0

    def rename(match: re.Match, k: int) -> str:
        iri = match.group(0)[1:-1]
        if match.group("graph"):
            return f"<{GRAPH}c{k}-{match.group('graph')}>"
        if iri in kept:
            return match.group(0)
        if match.group("type"):
            return f"<{ID}{match.group('type')}/c{k}-{match.group('slug')}>"
        return f"<{WD}{match.group('q')}0{k:05d}>"

    with path.open("w", encoding="utf-8") as out:
        for line in sorted(ontology):
            out.write(line)
            written += 1
        for k in range(copies):
            for line in base:
                if k and line[1 : line.index(">")] in shared:
                    continue  # an entity the shapes name is described once, in copy 0
                if k:
                    line = _RENAMED.sub(lambda m, k=k: rename(m, k), line)
                    line = line.replace("_:", f"_:c{k}x")
                out.write(line)
                written += 1
    return written


def _nt(quad: ox.Quad) -> str:
    return f"{quad.subject} {quad.predicate} {quad.object} .\n"


def run(
    command: list[str], timeout: float, stdout=subprocess.DEVNULL
) -> tuple[float, float, float, int | None]:
    """Run a command; return (wall seconds, CPU seconds, peak RSS in MB, exit code)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=stdout, stderr=subprocess.DEVNULL)
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            process.kill()
            _pid, status, usage = os.wait4(process.pid, 0)
            return timeout, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, None
        time.sleep(0.02)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, code


def jena_classpath() -> str | None:
    if os.environ.get("JENA_CP"):
        return os.environ["JENA_CP"]
    script = os.environ.get("JENA_CLASSPATH_SCRIPT")
    if script and shutil.which("java"):
        overlay = Path(tempfile.gettempdir()) / "treatykg-jena-overlay"
        return subprocess.run(
            ["bash", script, str(overlay)], capture_output=True, text=True, check=True
        ).stdout.strip()
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, nargs="*", default=[1, 10, 100, 600, 1000])
    parser.add_argument("--peers", nargs="*", default=["pyshacl", "jena", "pyrudof"])
    parser.add_argument("--pyshacl-max", type=int, default=10, help="largest copies for pyshacl")
    parser.add_argument("--jena-max", type=int, default=1000, help="largest copies for Jena")
    parser.add_argument(
        "--pyrudof-max",
        type=int,
        default=440,
        help="largest copies for pyrudof (it took 12 GB at 440 copies: 1000 would take ~28 GB)",
    )
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument(
        "--disk", action="store_true", help="also validate on an on-disk store (--memory-limit 0)"
    )
    parser.add_argument(
        "--violations", type=int, nargs="*", default=[], help="bare persons to validate"
    )
    parser.add_argument(
        "--formats",
        nargs="+",
        default=["text", "json", "turtle"],
        help="report formats of the --violations runs",
    )
    parser.add_argument(
        "--literals",
        type=int,
        nargs="*",
        default=[],
        help="triples with a literal the store keeps in another form than written",
    )
    parser.add_argument(
        "--ill-typed",
        type=int,
        nargs="*",
        default=[],
        help="triples with an ill-typed date (each a violation)",
    )
    args = parser.parse_args()
    treatykg = [sys.executable, "-m", "treatykg"]
    shapes_dir = loading.shape_files()[0].parent
    workdir = Path(tempfile.mkdtemp(prefix="treatykg-bench-"))
    cp = jena_classpath() if "jena" in args.peers else None
    shapes_file = workdir / "shapes.ttl"
    shapes_file.write_text(
        "".join(_nt(q) for f in loading.shape_files() for q in loading.parse_file(f)),
        encoding="utf-8",
    )
    count = len(loading.shape_files())
    print(f"shapes: {shapes_dir.name}/ ({count} files); machine: {os.cpu_count()} cores")
    wall, cpu, rss, code = _pipeline(treatykg, args.timeout)
    print(
        f"project graph: validate && query run-all: {wall:.2f} s wall, {cpu:.2f} s CPU, "
        f"{rss:.0f} MB peak, exit {code}"
    )
    print()
    print("| copies | triples | tool | wall s | CPU s | peak MB | exit | load avg |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|")
    try:
        for copies in args.copies:
            data = workdir / f"graph-x{copies}.nt"
            triples = generate(copies, data)
            rows = [("treatykg validate", [*treatykg, "validate", str(data)])]
            if args.disk:
                rows.append(
                    (
                        "treatykg validate, on disk",
                        [*treatykg, "validate", "--memory-limit", "0", str(data)],
                    )
                )
            if "pyshacl" in args.peers and copies <= args.pyshacl_max:
                rows.append(
                    (
                        "pyshacl (treatykg --engine pyshacl)",
                        [*treatykg, "validate", "--engine", "pyshacl", str(data)],
                    )
                )
            if cp and copies <= args.jena_max:
                rows.append(
                    (
                        "Jena 4.5 shacl",
                        [
                            "java",
                            "-Xmx8g",
                            "-cp",
                            cp,
                            "shacl.shacl",
                            "validate",
                            "--shapes",
                            str(shapes_file),
                            "--data",
                            str(data),
                        ],
                    )
                )
            if "pyrudof" in args.peers and copies <= args.pyrudof_max and _has_pyrudof():
                rows.append(
                    (
                        "pyrudof",
                        [sys.executable, __file__, "--pyrudof", str(shapes_file), str(data)],
                    )
                )
            for name, command in rows:
                load = os.getloadavg()[0]  # before the run, which adds its own
                wall, cpu, rss, code = run(command, args.timeout)
                shown = "timeout" if code is None else code
                cells = [copies, f"{triples:,}", name, f"{wall:.1f}", f"{cpu:.1f}", f"{rss:.0f}"]
                cells += [shown, f"{load:.1f}"]
                print("| " + " | ".join(map(str, cells)) + " |", flush=True)
            data.unlink()
        if args.violations:
            _violations(treatykg, workdir, args.violations, args.timeout, args.disk, args.formats)
        if args.literals:
            _literals(treatykg, workdir, args.literals, args.timeout, args.disk)
        if args.ill_typed:
            _literals(treatykg, workdir, args.ill_typed, args.timeout, args.disk, ill_typed=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _violations(
    treatykg: list[str],
    workdir: Path,
    sizes: list[int],
    timeout: float,
    disk: bool = False,
    formats: list[str] | None = None,
) -> None:
    print()
    print("| persons | results | format | store | wall s | CPU s | peak MB | exit | load avg |")
    print("|---:|---:|---|---|---:|---:|---:|---:|---:|")
    person = "<https://w3id.org/treatykg/ontology#Person>"
    kind = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
    for size in sizes:
        data = workdir / f"persons-{size}.nt"
        with data.open("w", encoding="utf-8") as out:
            for i in range(size):
                out.write(f"<{ID}person/p{i}> {kind} {person} .\n")
        runs = [(fmt, "memory", []) for fmt in formats or ("text", "json", "turtle")]
        if disk:
            runs += [(fmt, "disk", ["--memory-limit", "0"]) for fmt in formats or ("text",)]
        for fmt, store, options in runs:
            load = os.getloadavg()[0]
            report = workdir / "report.out"
            command = [*treatykg, "validate", "--format", fmt, *options, str(data)]
            with report.open("w") as sink:
                wall, cpu, rss, code = run(command, timeout, stdout=sink)
            results = _count_results(report, fmt)
            cells = [f"{size:,}", f"{results:,}", fmt, store, f"{wall:.1f}", f"{cpu:.1f}"]
            cells += [f"{rss:.0f}", code, f"{load:.1f}"]
            print("| " + " | ".join(map(str, cells)) + " |", flush=True)
            report.unlink()
        data.unlink()


def _literals(
    treatykg: list[str],
    workdir: Path,
    sizes: list[int],
    timeout: float,
    disk: bool,
    ill_typed: bool = False,
) -> None:
    """Validate N triples whose literal the store keeps in another form than written
    (``"01"^^xsd:integer``, ``"1.50"^^xsd:decimal``, each distinct), under a predicate no
    shape names: no result, only the literal notes kept while validating. With
    ``ill_typed``, N ill-typed dates (each distinct) instead: N violations."""
    kind = "ill-typed literals" if ill_typed else "literals kept as written"
    print()
    print(f"| triples | {kind} | store | wall s | CPU s | peak MB | exit | load avg |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|")
    integer = "<http://www.w3.org/2001/XMLSchema#integer>"
    decimal = "<http://www.w3.org/2001/XMLSchema#decimal>"
    date = "<http://www.w3.org/2001/XMLSchema#date>"
    for size in sizes:
        data = workdir / f"literals-{size}.nt"
        with data.open("w", encoding="utf-8") as out:
            for i in range(size):
                if ill_typed:
                    literal = f'"1950-13-{i}"^^{date}'
                else:
                    literal = f'"0{i}"^^{integer}' if i % 2 else f'"{i}.50"^^{decimal}'
                out.write(f"<https://example.org/n{i}> <https://example.org/value> {literal} .\n")
        runs = [("memory", [])] + ([("disk", ["--memory-limit", "0"])] if disk else [])
        for store, options in runs:
            load = os.getloadavg()[0]
            command = [*treatykg, "validate", *options, str(data)]
            wall, cpu, rss, code = run(command, timeout)
            cells = [f"{size:,}", f"{size:,}", store, f"{wall:.1f}", f"{cpu:.1f}", f"{rss:.0f}"]
            cells += [code, f"{load:.1f}"]
            print("| " + " | ".join(map(str, cells)) + " |", flush=True)
        data.unlink()


def _count_results(report: Path, fmt: str) -> int:
    with report.open(encoding="utf-8") as text:
        if fmt == "json":
            return sum(1 for line in text if line.startswith('      "focus_node"'))
        if fmt == "turtle":
            return sum(1 for line in text if line.startswith("_:report sh:result "))
        return sum(1 for line in text if line.startswith(("Violation: ", "Warning: ", "Info: ")))


def _pipeline(treatykg: list[str], timeout: float) -> tuple[float, float, float, int | None]:
    """Time ``validate && query run-all`` on the project's graph (two processes, summed)."""
    a = run([*treatykg, "validate"], timeout)
    b = run([*treatykg, "query", "run-all"], timeout)
    return a[0] + b[0], a[1] + b[1], max(a[2], b[2]), (a[3] or 0) or b[3]


def _has_pyrudof() -> bool:
    try:
        import pyrudof  # noqa: F401
    except ImportError:
        return False
    return True


def _pyrudof(shapes: str, data: str) -> None:  # pragma: no cover - a peer, run as a child
    """Validate with pyrudof (its API as of 0.3); exit 0 if it finds no result at all."""
    import pyrudof

    rudof = pyrudof.Rudof(pyrudof.RudofConfig())
    rudof.read_data(data, format=pyrudof.RDFFormat.NTriples)
    rudof.read_shacl(shapes, format=pyrudof.ShaclFormat.NTriples)
    report = rudof.validate_shacl()
    print(f"pyrudof: {len(report)} results", file=sys.stderr)
    sys.exit(0 if report.conforms else 1)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--pyrudof":
        _pyrudof(sys.argv[2], sys.argv[3])
    else:
        main()
