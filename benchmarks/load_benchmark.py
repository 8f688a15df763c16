"""How long ``treatykg load`` takes: synthetic triples into an in-memory and an on-disk Oxigraph.

Prints numbers; it is not a test. Run from the repository root::

    python benchmarks/load_benchmark.py                  # 100,000 triples in 4 graphs
    python benchmarks/load_benchmark.py --triples 1000000 --graphs 8

Each row is the median of ``--runs`` runs. Phases:

- ``parse + serialise``: the strict local parse of every file and the N-Triples written per graph
  (what ``load`` does before it sends anything);
- ``load, empty store``: the whole ``load`` into an empty store (parse, the counts before, the
  one SPARQL update that carries every graph, the verification counts);
- ``load again (--replace)``: the same over the graphs already there (the update now drops
  the old triples as well);
- ``load --graph (one PUT)``: everything into one graph by a single Graph Store PUT;
- ``verify only``: the count queries alone;
- ``oxigraph load (bulk)``: the server's own bulk loader into a fresh directory (on disk only),
  the fastest way to fill a store that is not yet served.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import pyoxigraph as ox

from treatykg.loading import load_store
from treatykg.remote_store import DEFAULT_TIMEOUT, HttpClient, RemoteStore, load, prepare
from treatykg.server import OxigraphServer, bulk_load

GRAPH = "https://w3id.org/treatykg/graph/bench-"
TKG = "https://w3id.org/treatykg/ontology#"
ID = "https://w3id.org/treatykg/id/"


def write_synthetic(folder: Path, triples: int, graphs: int) -> list[tuple[Path, str]]:
    """Write about ``triples`` treaty-like triples in ``graphs`` Turtle files; return the
    (file, graph IRI) pairs to load. Each treaty: a type, two labels, a date, two parties, a
    signing place and three articles with a number and a text (16 triples)."""
    folder.mkdir(parents=True, exist_ok=True)
    per_treaty = 16
    treaties = max(1, triples // per_treaty)
    files = []
    for g in range(graphs):
        path = folder / f"bench-{g}.ttl"
        with path.open("w", encoding="utf-8") as out:
            out.write(
                f"@prefix tkg: <{TKG}> .\n@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
            )
            out.write("@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n")
            for t in range(g, treaties, graphs):
                year = 1900 + t % 100
                treaty = f"<{ID}treaty/bench-{t}>"
                out.write(
                    f"{treaty} a tkg:Treaty ;\n"
                    f'  rdfs:label "Treaty number {t}"@en, "第{t}号条约"@zh-Hans ;\n'
                    f'  tkg:dateSigned "{year}-02-14"^^xsd:date ;\n'
                    f"  tkg:party <{ID}state/s{t % 50}>, <{ID}state/s{(t + 7) % 50}> ;\n"
                    f"  tkg:placeSigned <{ID}place/p{t % 300}> .\n"
                )
                for a in range(1, 4):
                    article = f"<{ID}article/bench-{t}-article-{a}>"
                    out.write(
                        f"{article} tkg:articleOf {treaty} ; tkg:articleNumber {a} ;\n"
                        f'  tkg:text "Article {a} of treaty {t}: the parties consult."@en .\n'
                    )
        files.append((path, f"{GRAPH}{g}"))
    return files


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def median(
    action: Callable[[], object], runs: int, setup: Callable[[], object] | None = None
) -> float:
    times = []
    for _ in range(runs):
        if setup is not None:
            setup()
        times.append(timed(action))
    return statistics.median(times)


class Table:
    """Prints each row as soon as it is measured, so a long run shows its numbers as it goes."""

    def __init__(self, triples: int) -> None:
        self.triples = triples
        print(f"{'store':<10}  {'phase':<24}  {'seconds':>8}  {'triples/s':>10}", flush=True)

    def row(self, kind: str, phase: str, seconds: float) -> None:
        rate = f"{self.triples / seconds:,.0f}" if phase != "verify only" else ""
        print(f"{kind:<10}  {phase:<24}  {seconds:>8.2f}  {rate:>10}", flush=True)


def bench_server(kind: str, files, runs: int, work: Path, table: Table, client) -> None:
    location = work / "store" if kind == "on disk" else None
    with OxigraphServer(location=location) as server:
        store = RemoteStore(server.endpoint, client)

        def clear() -> None:
            store.update("CLEAR ALL")

        def load_all(**options) -> None:
            report = load(server.endpoint, files, client=client, **options)
            assert report.ok, report.table()

        table.row(kind, "load, empty store", median(load_all, runs, clear))
        table.row(kind, "load again (--replace)", median(load_all, runs))
        graphs = sorted({graph for _path, graph in files})
        table.row(kind, "verify only", median(lambda: [store.count(g) for g in graphs], runs))
        clear()
        one = "https://w3id.org/treatykg/graph/bench-all"
        table.row(kind, "load --graph (one PUT)", median(lambda: load_all(into=one), runs, clear))
    if kind == "on disk":
        nquads = work / "all.nq"
        load_store(files).dump(nquads, ox.RdfFormat.N_QUADS)
        counter = iter(range(runs))
        seconds = median(lambda: bulk_load(work / f"bulk-{next(counter)}", nquads), runs)
        table.row(kind, "oxigraph load (bulk)", seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=int, default=100_000)
    parser.add_argument("--graphs", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="as for load")
    parser.add_argument("--skip-disk", action="store_true", help="in-memory server only")
    args = parser.parse_args()
    client = HttpClient(timeout=args.timeout)
    with tempfile.TemporaryDirectory(prefix="treatykg-bench-") as tmp:
        work = Path(tmp)
        files = write_synthetic(work / "data", args.triples, args.graphs)
        size = sum(path.stat().st_size for path, _ in files)
        with tempfile.TemporaryDirectory() as scratch:
            graphs = prepare(files, Path(scratch))
        total = sum(g.triples for g in graphs)
        print(
            f"{total:,} triples in {len(graphs)} graphs, {size / 1e6:.1f} MB of Turtle; "
            f"median of {args.runs} runs\n"
        )

        def parse_once() -> None:
            with tempfile.TemporaryDirectory() as scratch:
                prepare(files, Path(scratch))

        table = Table(total)
        table.row("local", "parse + serialise", median(parse_once, args.runs))
        bench_server("in memory", files, args.runs, work, table, client)
        if not args.skip_disk:
            bench_server("on disk", files, args.runs, work, table, client)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
