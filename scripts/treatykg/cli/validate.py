"""``treatykg validate [FILE ...] [--format text|turtle|json] [--owl-rl]``."""

from __future__ import annotations

import argparse
import sys

_FORMATS = ["text", "turtle", "json"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``validate`` subcommand."""
    parser = subparsers.add_parser(
        "validate",
        help="check the graph (or your files) against the SHACL shapes",
        description=(
            "Check the ontology and graph against shapes/*.ttl. Given FILEs are checked "
            "together with the ontology instead of the project's graph. Exit status: 0 the "
            "data conforms (warnings allowed), 1 it has violations, 2 bad input."
        ),
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="RDF files to check (Turtle)")
    parser.add_argument(
        "--format", choices=_FORMATS, default="text", help="report format (default: text)"
    )
    parser.add_argument(
        "--owl-rl",
        action="store_true",
        help="also check that the data is consistent under the OWL 2 RL rules (about 0.2 s "
        "more on the project's graph)",
    )
    parser.add_argument(
        "--engine",
        choices=["oxigraph", "pyshacl"],
        default="oxigraph",
        help="oxigraph: the shapes compiled to SPARQL (fast; falls back to pyshacl for shapes "
        "it does not compile); pyshacl: the reference engine (slow)",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="print a progress line on stderr every second once the work takes over a second "
        "(default: when stderr is a terminal)",
    )
    parser.add_argument(
        "--memory-limit",
        metavar="SIZE",
        help="memory the validation may take, e.g. 2G or 500M: data expected to need more is "
        "validated on an on-disk store in a temporary folder instead, which is slower "
        "(default: half the memory available; 0: always on disk)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate, print the report on stdout, return 0 if it conforms and 1 if not."""
    from treatykg.memory_budget import parse_size
    from treatykg.validation import validate  # imported here: other commands need no rdflib

    limit = None if args.memory_limit is None else parse_size(args.memory_limit)
    report = validate(
        args.files or None,
        owl_rl=args.owl_rl,
        engine=args.engine,
        progress=sys.stderr.isatty() if args.progress is None else args.progress,
        memory_limit=limit,
        say=lambda message: print(f"treatykg: note: {message}", file=sys.stderr, flush=True),
    )
    if report.note:
        print(f"treatykg: note: {report.note}; checked with pyshacl", file=sys.stderr)
    with report:  # a report of many results has them on disk: removed after writing
        if args.format == "text":
            report.write_text(sys.stdout)  # a block at a time: never one string
        elif args.format == "json":
            report.write_json(sys.stdout)
        else:
            report.write_turtle(sys.stdout)
    return 0 if report.conforms else 1
