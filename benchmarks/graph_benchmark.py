"""How long the main job takes, phase by phase, and with which engine: prints numbers, not a test.

Run from the repository root (in the project's environment)::

    python benchmarks/graph_benchmark.py            # 5 runs a phase, the median printed
    python benchmarks/graph_benchmark.py --runs 1

Phases: parsing every ontology and graph file into pyoxigraph (the strict gate) and into an
rdflib Dataset; SHACL validation (pyshacl); the OWL 2 RL consistency check (owlrl); every stored
query that does not call a SERVICE, answered by pyoxigraph and by rdflib's own engine (the
measurement behind the embedded store's choice). The last line is the process's peak resident
memory.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from treatykg.catalogue import stored_queries
from treatykg.loading import count_triples, load_store
from treatykg.querying import is_federated, run
from treatykg.rdflib_graphs import load_rdflib_dataset, merged_graph
from treatykg.reasoning import owl_rl_inconsistencies
from treatykg.validation import validate


def _median_seconds(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5, help="runs a phase (default: 5)")
    args = parser.parse_args()

    triples = sum(count_triples().values())
    queries = [q for q in stored_queries() if not is_federated(q.text)]
    store = load_store()
    dataset = load_rdflib_dataset()
    graph = merged_graph()

    def run_all(engine: str) -> None:
        for query in queries:
            run(query, store=store, dataset=dataset, engine=engine)

    phases: list[tuple[str, Callable[[], object]]] = [
        ("parse into pyoxigraph", load_store),
        ("parse into rdflib (via pyoxigraph)", load_rdflib_dataset),
        ("SHACL validation", validate),
        ("OWL 2 RL consistency", lambda: owl_rl_inconsistencies(graph)),
        (f"{len(queries)} stored queries, pyoxigraph", lambda: run_all("oxigraph")),
        (f"{len(queries)} stored queries, rdflib", lambda: run_all("rdflib")),
    ]
    print(f"{triples} triples (ontology and graph), median of {args.runs} runs")
    for name, action in phases:
        print(f"{name:<40} {_median_seconds(action, args.runs):8.3f} s")
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(f"{'peak resident memory':<40} {peak_kib / 1024:8.1f} MiB")


if __name__ == "__main__":
    main()
