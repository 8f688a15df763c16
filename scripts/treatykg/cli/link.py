"""``treatykg link check | resolve | suggest | diff``: the graph's links to Wikidata."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pyoxigraph as ox

from treatykg import querying, wikidata
from treatykg.errors import InputError
from treatykg.wikidata_client import WIKIDATA_SPARQL, SparqlClient
from treatykg.wikidata_links import LocalGraph


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``link`` command and its subcommands (see :data:`SUBCOMMANDS`)."""
    parser = subparsers.add_parser(
        "link",
        help="check, resolve, suggest and compare the links to Wikidata",
        description=(
            "The graph's links to Wikidata items (graph/wikidata/links.ttl). Every subcommand "
            f"asks a Wikidata SPARQL endpoint (default {WIKIDATA_SPARQL}; --endpoint for a "
            "mirror or a test server). Exit status: 0 ok, 1 check found a problem, 2 bad "
            "input or the endpoint could not be reached."
        ),
    )
    parser.set_defaults(func=lambda _args: _help(parser))
    commands = parser.add_subparsers(dest="link_command", metavar="SUBCOMMAND")
    for name, (summary, description, options, func) in SUBCOMMANDS.items():
        command = commands.add_parser(name, help=summary, description=description)
        for flag, settings in COMMON_OPTIONS + options:
            command.add_argument(flag, **settings)
        command.set_defaults(func=func)


Option = tuple[str, dict]

COMMON_OPTIONS: tuple[Option, ...] = (
    ("--endpoint", {"default": WIKIDATA_SPARQL, "metavar": "URL",
                    "help": f"the Wikidata SPARQL endpoint (default {WIKIDATA_SPARQL})"}),
    ("--links-file", {"type": Path, "metavar": "FILE",
                      "help": "the link file to use instead of graph/wikidata/links.ttl"}),
    ("--format", {"choices": ("table", "json"), "default": "table",
                  "help": "output format (default: table)"}),
    ("--timeout", {"type": float, "default": 60.0, "metavar": "SECONDS",
                   "help": "give up on one request after this long (default 60)"}),
    ("--types", {"type": Path, "metavar": "TSV",
                 "help": "a type table (our_class, wikidata_class, label, evidence, quote) "
                         "instead of graph/wikidata/type-table.tsv"}),
)  # fmt: skip
"""The options every ``link`` subcommand takes."""


def _entity_option(help_text: str) -> Option:
    return ("--entity", {"action": "append", "default": [], "metavar": "ENTITY", "help": help_text})


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _help(parser: argparse.ArgumentParser) -> int:  # `treatykg link` alone
    parser.print_help()
    return 2


def _client(args: argparse.Namespace) -> SparqlClient:
    if args.timeout <= 0:
        raise InputError("--timeout must be positive")
    return SparqlClient(args.endpoint, timeout=args.timeout)


def _graph(
    args: argparse.Namespace, *, may_be_new: bool = False, require_links: bool = False
) -> LocalGraph:
    """Load the graph; a ``--links-file`` must exist unless the command may start it, and must
    hold a link when the command compares links (``require_links``)."""
    chosen = args.links_file
    if chosen is not None and chosen.is_dir():
        raise InputError(f"--links-file {chosen} is a folder, not a file")
    if chosen is not None and not may_be_new and not chosen.exists():
        raise InputError(f"--links-file {chosen} does not exist")
    return LocalGraph.load(chosen, require_links=require_links)


def _date(value: str | None) -> str:
    if value is None:
        return dt.date.today().isoformat()
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise InputError(f"--retrieved expects a date as YYYY-MM-DD; got {value!r}") from None


def _print_json(payload: object) -> None:
    print(json.dumps(payload, ensure_ascii=False, indent=1))


# -- tables ------------------------------------------------------------------------------------


def table(header: list[str], rows: list[list[object]]) -> str:
    """Return rows as the aligned text table of ``treatykg query run`` (CJK counts double)."""
    literal_rows = [tuple(ox.Literal("" if c is None else str(c)) for c in row) for row in rows]
    return querying.format_table(querying.Answer("SELECT", list(header), literal_rows))


def _print_table(header: list[str], rows: list[list[object]]) -> None:
    print(table(header, rows), end="")


# -- commands ------------------------------------------------------------------------------------


def run_check(args: argparse.Namespace) -> int:
    """Check every link; exit 1 when a problem is found."""
    rules = wikidata.load_type_rules(args.types) if args.types else None
    graph = _graph(args, require_links=True)
    report = wikidata.check(graph, _client(args), rules)
    failed = report.failed or (args.require_links and bool(report.unlinked))
    if args.format == "json":
        payload = report.to_json()
        payload["ok"] = not failed
        _print_json(payload)
        return 1 if failed else 0
    print(f"Links checked against {report.endpoint}\n")
    _print_table(
        ["entity", "item", "label score", "lang", "ours", "Wikidata", "type", "fits", "ok"],
        [
            [
                s.entity,
                s.item,
                f"{s.label_score:.2f}",
                s.label_language or "-",
                s.ours,
                s.theirs,
                s.type,
                "not judged" if not s.type_checked else ("yes" if s.type_fits else "MISFIT"),
                "yes" if s.ok else "NO",
            ]
            for s in report.links
        ],
    )
    if report.problems:
        print(f"\nProblems ({len(report.problems)}):\n")
        _print_table(
            ["problem", "entity", "item", "score", "detail"],
            [
                [
                    p.title,
                    p.entity,
                    p.item,
                    "" if p.score is None else f"{p.score:.2f}",
                    p.detail,
                ]
                for p in report.problems
            ],
        )
    print(f"\nUnlinked entities ({len(report.unlinked)}):\n")
    if report.unlinked:
        _print_table(
            ["entity", "label (en)", "label (zh)", "zh.wikipedia page"],
            [
                [u["entity"], u["label_en"], u["label_zh"], u["wikipedia_page"]]
                for u in report.unlinked
            ],
        )
    unjudged = sum(1 for s in report.links if s.type_fits is None)
    summary = (
        f"{len(report.links)} links, {len(report.problems)} problems, "
        f"{len(report.unlinked)} unlinked entities"
        + (f", {unjudged} link(s) whose type could not be judged" if unjudged else "")
    )
    print(("\nFAILED: " if failed else "\nOK: ") + summary)
    return 1 if failed else 0


def run_resolve(args: argparse.Namespace) -> int:
    """Resolve unlinked entities through sitelinks and write the accepted links."""
    retrieved = _date(args.retrieved)
    graph = _graph(args, may_be_new=True)
    rules = wikidata.load_type_rules(args.types) if args.types else None
    report = wikidata.resolve(
        graph, _client(args), retrieved=retrieved, entities=args.entity, rules=rules
    )
    text = ""
    if report.new_links and not args.dry_run:
        text = wikidata.write_links(graph, report.new_links, retrieved)
        report.written_to = str(graph.link_file)
    elif report.new_links:
        text = wikidata.render_new_links(
            report.new_links,
            {r.iri for r in graph.link_records()},
            f"Resolved through zh.wikipedia sitelinks by `treatykg link resolve` on {retrieved}.",
        )
    if args.format == "json":
        payload = report.to_json()
        payload["dry_run"] = args.dry_run
        _print_json(payload)
        return 0
    print(f"Sitelinks resolved on {report.endpoint}\n")
    _print_table(
        ["status", "entity", "item", "zh.wikipedia title", "detail"],
        [[r.status, r.entity, r.item or "-", r.title, r.detail] for r in report.resolutions],
    )
    accepted = len(report.new_links)
    if args.dry_run:
        print(f"\n{accepted} link(s) would be written (dry run; nothing changed).")
        if text:
            print("\n" + text, end="")
    elif accepted:
        print(f"\n{accepted} link(s) written to {_relative(graph.link_file)}.")
    else:
        print("\nNo link written.")
    return 0


def run_suggest(args: argparse.Namespace) -> int:
    """Print ranked candidate items for unlinked entities."""
    if args.limit < 1:
        raise InputError("--limit must be at least 1")
    graph = _graph(args)
    rules = wikidata.load_type_rules(args.types) if args.types else None
    suggestions = wikidata.suggest(
        graph, _client(args), entities=args.entity, limit=args.limit, rules=rules
    )
    if args.format == "json":
        _print_json([asdict(s) for s in suggestions])
        return 0
    for index, suggestion in enumerate(suggestions):
        title = " / ".join(x for x in (suggestion.label_en, suggestion.label_zh) if x)
        print(("\n" if index else "") + f"## {suggestion.entity}  {title}")
        if not suggestion.candidates:
            print("(no item has one of these labels)")
            continue
        _print_table(
            [
                "rank",
                "item",
                "score",
                "matched",
                "type",
                "fits",
                "label (en)",
                "label (zh)",
                "description",
            ],
            [
                [
                    n,
                    c.item,
                    f"{c.score:.1f}",
                    " ".join(c.matched) + (" REJECTED" if c.rejected else ""),
                    c.type,
                    "not judged" if c.type_fits is None else ("yes" if c.type_fits else "MISFIT"),
                    c.label_en,
                    c.label_zh,
                    c.description_en or c.description_zh,
                ]
                for n, c in enumerate(suggestion.candidates, start=1)
            ],
        )
    print(
        "\nSuggestions only: nothing was written. Add a link with its evidence to "
        "graph/wikidata/links.ttl, or use `treatykg link resolve`."
    )
    return 0


def run_diff(args: argparse.Namespace) -> int:
    """Print what Wikidata lacks or holds differently; optionally write QuickStatements."""
    target = None if args.quickstatements in (None, "-") else Path(args.quickstatements)
    if target is not None and (target.is_dir() or not target.parent.is_dir()):
        raise InputError(f"--quickstatements {target}: not a file in an existing folder")
    graph = _graph(args, require_links=True)
    rules = wikidata.load_type_rules(args.types) if args.types else None
    report = wikidata.diff(graph, _client(args), rules)
    held_back: list[dict[str, str]] = []
    if args.quickstatements:
        qs = wikidata.quickstatements(report, graph)
        held_back = qs.held_back
        if target is None:
            sys.stdout.write(qs.text)
            for row in held_back:  # stdout holds only the lines; say what was left out
                print(_held_back_line(row), file=sys.stderr)
            return 0
        try:
            target.write_text(qs.text, encoding="utf-8")
        except OSError as error:
            raise InputError(f"cannot write {target}: {error.strerror or error}") from None
    if args.format == "json":
        payload = report.to_json()
        if args.quickstatements:
            payload["held_back"] = held_back
        _print_json(payload)
        return 0
    shown = [s for s in report.statements if args.all or s.status != "same"]
    print(f"Our statements compared with {report.endpoint}\n")
    _print_table(
        ["status", "entity", "property", "item", "P", "ours", "Wikidata"],
        [
            [
                s.status,
                s.entity,
                s.property,
                s.item,
                s.wikidata_property,
                s.value,
                ", ".join(s.wikidata_values) or "-",
            ]
            for s in shown
        ],
    )
    counts = report.to_json()["summary"]
    print(
        f"\n{counts['missing']} missing, {counts['different']} different, {counts['same']} same; "
        f"{len(report.skipped)} statement(s) skipped (value not linked)."
    )
    if args.quickstatements:
        written = counts["missing"] - len(held_back)
        print(
            f"QuickStatements for {written} of the {counts['missing']} missing ones written to "
            f"{args.quickstatements}; {len(held_back)} held back:"
        )
        for row in held_back:
            print("  " + _held_back_line(row))
    return 0


def _held_back_line(row: dict[str, str]) -> str:
    return (
        f"not written: {row['item']} {row['property']} {row['value']} ({row['entity']}): "
        f"{row['reason']}"
    )


SUBCOMMANDS: dict[str, tuple[str, str, tuple[Option, ...], Callable[[argparse.Namespace], int]]] = {
    "check": (
        "compare every link's labels and type with Wikidata; list unlinked entities",
        "For every link, ask the endpoint for the item's labels (en, zh, ru), aliases, "
        "'instance of' values and redirect, and report: a label that does not match ours in "
        "any one language both sides have (label-mismatch (zh), with both labels; Chinese "
        "compared in simplified script, both sides NFC-normalised and trimmed), types that "
        "do not fit the type table or are never a link target (type-mismatch), redirected "
        "or missing items, two entities linked to one item, an entity linked to several "
        "items, links without evidence records, links to an item a rejected-link record "
        "rejects (contradiction). Types the table cannot judge are shown, not failed. "
        "Unlinked entities are listed too; they make the exit status 1 only with "
        "--require-links. A link file without any link, or with a link that is not an item "
        "IRI, is an error (exit 2).",
        (
            ("--require-links", {"action": "store_true",
                                 "help": "count unlinked entities as problems"}),
        ),
        run_check,
    ),
    "resolve": (
        "link unlinked entities through their Chinese Wikipedia page (sitelinks)",
        "For unlinked entities that have a zh.wikipedia page in the graph, find the item "
        "joined to that page by its sitelink, compare the item's labels (every language "
        "both sides have) and type with ours, and append the accepted links (with the page "
        "and the date) to the link file. Label mismatches, types that do not fit or cannot "
        "be judged, rejected items and ambiguities are reported and never written.",
        (
            ("--dry-run", {"action": "store_true",
                           "help": "report and print what would be written; change nothing"}),
            ("--retrieved", {"metavar": "YYYY-MM-DD",
                             "help": "the retrieval date to record (default: today)"}),
            _entity_option("only this entity (e.g. person:zhou-enlai); repeatable"),
        ),
        run_resolve,
    ),
    "suggest": (
        "propose candidate items for unlinked entities, ranked (never writes)",
        "For unlinked entities (or the ones named with --entity), look up items whose "
        "label or alias equals one of ours in en, zh or ru (in NFC and NFD, with or without "
        "a trailing space, Chinese in both scripts), rank them, and show their types, "
        "labels and descriptions so that a person can decide; misfits and rejected items "
        "rank last. Nothing is written.",
        (
            _entity_option("only this entity; repeatable"),
            ("--limit", {"type": int, "default": 5, "help": "candidates per entity (default 5)"}),
        ),
        run_suggest,
    ),
    "diff": (
        "list what Wikidata lacks or holds differently; write QuickStatements",
        "Map the graph's statements to Wikidata properties (the tkg:wikidataProperty "
        "annotations of ontology/alignments.ttl: signatory, point in time, location, "
        "replaces, based on, part of …), compare them with the linked items' truthy "
        "statements, and print what Wikidata lacks (missing) or holds differently "
        "(different). With --quickstatements FILE ('-' for stdout) the missing statements "
        "are written as QuickStatements lines for an editor to review, each with a "
        "reference Wikidata accepts (S854 reference URL; a Wikipedia page as S143 imported "
        "from); statements whose source is of a kind Wikidata does not accept, or whose item "
        "or value is a doubtful link, are held back and listed.",
        (
            ("--quickstatements", {"metavar": "FILE", "help": "write the missing statements as "
                                   "QuickStatements to FILE ('-': stdout)"}),
            ("--all", {"action": "store_true", "help": "also list the statements that agree"}),
        ),
        run_diff,
    ),
}  # fmt: skip
"""Each subcommand: (summary, description, its own options, the function that runs it)."""
