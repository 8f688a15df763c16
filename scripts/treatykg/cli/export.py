"""``treatykg export [FILE ...] [--output FILE] [--format trig|nquads|turtle|ntriples]``."""

from __future__ import annotations

import argparse
import sys

from treatykg.export import FORMATS, export


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``export`` subcommand."""
    parser = subparsers.add_parser(
        "export",
        help="write the ontology and the graph as one TriG, N-Quads, Turtle or N-Triples file",
        description=(
            "Write the ontology and the graph (or the given FILEs) as one file for a store's "
            "bulk loader or for download. TriG and N-Quads keep the named graphs (one per "
            "source); Turtle and N-Triples hold their union. The format follows the output's "
            "suffix (.trig, .nq, .ttl, .nt) unless --format is given; standard output gets "
            "TriG. A file is replaced only by a complete one. Exit status: 0 written, 2 bad "
            "input."
        ),
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="RDF files instead of the graph")
    parser.add_argument(
        "-o",
        "--output",
        default="-",
        metavar="FILE",
        help="where to write (default: standard output)",
    )
    parser.add_argument("--format", choices=list(FORMATS), help="the format (default: by suffix)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export, and say on stderr what was written."""
    report = export(args.output, args.format, args.files or None)
    print(f"treatykg: {report.summary()}", file=sys.stderr)
    return 0
