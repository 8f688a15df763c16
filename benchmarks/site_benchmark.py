"""How long ``treatykg docs`` takes to build the site from the project's graph.

Prints numbers; it is not a test. Run from the repository root::

    python benchmarks/site_benchmark.py            # median of 3 runs
    python benchmarks/site_benchmark.py --runs 5

Rows:

- ``whole build``: what ``treatykg docs`` does (parse, index, every page, pictures, pyLODE);
- ``without the vocabulary page``: the same with pyLODE left out;
- ``pyLODE alone``: the vocabulary page;
- ``parse + index``: the graph into the embedded store and the site's index of it.

Numbers on a shared machine are noisy: compare runs made at the same time.
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

from treatykg.loading import load_store
from treatykg.site import Renderer, _ontology_page, build_site
from treatykg.site.graphdata import GraphData


def median_seconds(work: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        report = build_site(folder / "warm-up")  # imports and template compilation
        data = GraphData(load_store())
        rows = [
            ("whole build", median_seconds(lambda: build_site(folder / "site"), args.runs)),
            (
                "without the vocabulary page",
                median_seconds(lambda: build_site(folder / "bare", ontology=False), args.runs),
            ),
            (
                "pyLODE alone",
                median_seconds(
                    lambda: _ontology_page(folder / "onto" / "index.html", Renderer(data)),
                    args.runs,
                ),
            ),
            ("parse + index", median_seconds(lambda: GraphData(load_store()), args.runs)),
        ]
    print(f"site: {report.pages} pages, {report.entities} entities; median of {args.runs} runs")
    for name, seconds in rows:
        print(f"  {name:<30} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
