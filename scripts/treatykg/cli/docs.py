"""``treatykg docs [--out DIR]``: build the static site from the graph."""

from __future__ import annotations

import argparse
from pathlib import Path

from treatykg.site import DEFAULT_OUT, build_site


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``docs`` subcommand."""
    parser = subparsers.add_parser(
        "docs",
        help="build the static site (entity pages, timeline, map, queries) into dist/site/",
        description=(
            "Build a static site from the graph alone: a home page, a page per entity at the "
            "path of its IRI (with its Turtle and JSON-LD), the sources, a timeline, a map, a "
            "picture of the treaty's neighbourhood, each stored query with its answer, the "
            "vocabulary and the shapes. The folder works offline, opened from disk; "
            "`treatykg serve` serves it too. A failed build leaves the previous site whole. "
            "Exit status: 0 built, 2 bad input or failure."
        ),
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        metavar="DIR",
        help="where to write the site (default: %(default)s)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the site and say where it is."""
    report = build_site(args.out)
    print(
        f"treatykg: wrote {report.pages} pages ({report.entities} entities) to "
        f"{report.folder} in {report.seconds:.1f} s; open {report.folder / 'index.html'}"
    )
    return 0
