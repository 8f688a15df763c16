"""Running SPARQL queries: on the embedded store, on rdflib, or on a remote endpoint.

How parameters are bound: each value is first turned into an RDF term of its declared type
(:func:`treatykg.catalogue.parameter_term`), then bound by a ``VALUES`` block placed first in the
query's WHERE clause, written from the terms' N-Triples form. A value is therefore always one RDF
term and cannot change the query's meaning; and the same bound text runs on every engine, so the
embedded store and a remote endpoint answer the same query.

What the default graph is: the union of all named graphs (the graph is stored one named graph
per source). pyoxigraph is asked for that with ``use_default_graph_as_union``; a remote endpoint
must offer the same (``oxigraph serve --union-default-graph``, Fuseki's ``unionDefaultGraph``).
In the union, a triple stated by two sources is seen twice: queries that count use ``DISTINCT``.
"""

from __future__ import annotations

import csv
import http.client
import io
import json
import re
import unicodedata
import urllib.error
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pyoxigraph as ox

from treatykg.catalogue import PARAMETER_PREFIXES, StoredQuery
from treatykg.errors import InputError, TreatyKGError
from treatykg.urls import url_problem

Term = ox.NamedNode | ox.BlankNode | ox.Literal
FORMATS = ("table", "csv", "tsv", "json", "xml", "turtle")
"""Output formats of ``treatykg query run``."""
ENGINES = ("oxigraph", "rdflib")
"""Embedded engines: Oxigraph (pyoxigraph, the default, chosen by measurement) and rdflib."""

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_SYNTAX = re.compile(r"error at (?P<line>\d+):(?P<column>\d+): (?P<what>.*)", re.DOTALL)


class QuerySyntaxError(InputError):
    """A syntax error in a query, located by line and column (1-based)."""

    def __init__(self, source: str, line: int, column: int, what: str) -> None:
        what = " ".join(what.split())
        if len(what) > 160:  # pyoxigraph lists every token it would accept; keep the start
            what = what[:157] + "..."
        super().__init__(f"{source}: syntax error at line {line}, column {column}: {what}")
        self.line = line
        self.column = column


@dataclass
class Answer:
    """The answer to a query: rows (SELECT), a boolean (ASK) or triples (CONSTRUCT, DESCRIBE)."""

    form: str
    variables: list[str] = field(default_factory=list)
    rows: list[tuple[Term | None, ...]] = field(default_factory=list)
    boolean: bool | None = None
    triples: list[ox.Triple] = field(default_factory=list)


# --- reading a query's text -------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
              |'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<var>[?$][A-Za-z0-9_\u00b7\u00c0-\uffff]+)
  | (?P<name>[A-Za-z0-9_\u00c0-\uffff][A-Za-z0-9_.\-\u00b7\u00c0-\uffff]*(?::[^\s{}()<>,;"']*)?
             |:[^\s{}()<>,;"']*)
  | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)


def _keywords_and_braces(text: str) -> Iterable[tuple[str, int, int]]:
    """Yield (token, position, depth before it) for keywords and braces outside strings/IRIs."""
    depth = 0
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        token = match.group()
        if kind == "name" and ":" not in token:
            yield token.upper(), match.start(), depth
        elif kind == "punct" and token in "{}":
            yield token, match.start(), depth
            depth += 1 if token == "{" else -1


def where_clause_start(text: str) -> int:
    """Return the index just after the ``{`` that opens the query's WHERE clause.

    >>> q = 'CONSTRUCT { ?s ?p "{" } WHERE { ?s ?p ?o }'
    >>> q[where_clause_start(q):]
    ' ?s ?p ?o }'
    """
    seen_where = seen_construct = False
    first_brace = None
    previous = ""
    for token, position, depth in _keywords_and_braces(text):
        seen_construct = seen_construct or token == "CONSTRUCT"
        if depth == 0 and token == "WHERE":
            if previous == "CONSTRUCT":
                raise InputError(
                    "a query with parameters needs a CONSTRUCT template of its own "
                    "(CONSTRUCT { … } WHERE { … }), not the short form CONSTRUCT WHERE"
                )
            seen_where = True
        elif depth == 0 and token == "{":
            if seen_where:
                return position + 1
            if first_brace is None:
                first_brace = position + 1
        previous = token
    # Without the WHERE keyword (allowed for SELECT, ASK and DESCRIBE) the first group is it.
    if first_brace is not None and not seen_construct:
        return first_brace
    raise InputError("the query has no WHERE clause to bind its parameters in")


def is_federated(text: str) -> bool:
    """Return whether the query calls another endpoint (``SERVICE``), outside comments and strings.

    >>> is_federated('# SERVICE in a comment\\nSELECT * WHERE { ?s ?p "SERVICE" }')
    False
    """
    return any(token == "SERVICE" for token, _position, _depth in _keywords_and_braces(text))


def bind_parameters(
    text: str, bindings: Mapping[str, Term], *, expand_unicode_escapes: bool = False
) -> str:
    """Return the query with a VALUES block binding each variable to its term.

    The block is written from the terms' N-Triples form (pyoxigraph escapes quotes and line
    breaks in literals and refuses IRIs with spaces, quotes or braces) and inserted on the line of
    the WHERE clause's brace, so line numbers elsewhere do not move.

    ``expand_unicode_escapes`` is for engines that, as rdflib does, decode every ``\\uXXXX`` of
    the query text before parsing it: there a value holding the text ``\\u0022`` would come out
    as ``"``. Each backslash of the block is then written ``\\U0000005C``, which such an engine
    decodes back to the backslash, so the value arrives unchanged; control characters, which
    pyoxigraph writes as ``\\u001F``, are written as themselves, as such an engine's strings
    take them.

    >>> bind_parameters('SELECT ?x WHERE { ?x ?p ?o }', {'o': ox.Literal('a" } #')})
    'SELECT ?x WHERE { VALUES (?o) { ("a\\\\" } #") } ?x ?p ?o }'
    """
    if not bindings:
        return text
    start = where_clause_start(text)
    names = " ".join(f"?{name}" for name in bindings)
    values = " ".join(str(term) for term in bindings.values())
    if expand_unicode_escapes:
        values = _ESCAPE.sub(_raw_character, values).replace("\\", "\\U0000005C")
    return f"{text[:start]} VALUES ({names}) {{ ({values}) }}{text[start:]}"


_ESCAPE = re.compile(r"\\(?:u(?P<u>[0-9A-Fa-f]{4})|U(?P<U>[0-9A-Fa-f]{8})|.)", re.DOTALL)


def _raw_character(match: re.Match) -> str:
    """``\\u001F`` as the character itself; other escapes (``\\"``, ``\\n``) as they are.

    pyoxigraph writes control characters as ``\\uXXXX``, an escape SPARQL allows only before
    parsing, which is where rdflib has already decoded the query; its strings take the character
    itself (all but ``"``, ``\\``, line feed and carriage return, which keep their escapes).
    """
    code = match["u"] or match["U"]
    return chr(int(code, 16)) if code else match.group()


_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")


def query_form(text: str) -> tuple[str | None, int]:
    """Return the query's form keyword (SELECT, ASK, CONSTRUCT, DESCRIBE) and its position.

    >>> query_form('PREFIX ask: <http://x/> # SELECT\\nask { ?s ask:p "CONSTRUCT" }')
    ('ASK', 33)
    """
    for token, position, depth in _keywords_and_braces(text):
        if depth == 0 and token in _FORMS:
            return token, position
    return None, -1


_UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}
)
"""The words a SPARQL 1.1 Update operation opens with (after its PREFIX and BASE lines)."""


def update_keyword(text: str) -> tuple[str, int] | None:
    """Return the keyword that makes ``text`` a SPARQL Update, and its position; None if not.

    >>> update_keyword('PREFIX x: <http://x/> # SELECT\\nINSERT DATA { x:a x:b "SELECT" }')
    ('INSERT', 31)
    >>> update_keyword('SELECT * { ?s ?p "DELETE" }') is None
    True
    """
    for token, position, depth in _keywords_and_braces(text):
        if depth == 0 and token in ("PREFIX", "BASE"):
            continue
        return (token, position) if depth == 0 and token in _UPDATE_KEYWORDS else None
    return None


def check_syntax(text: str, source: str) -> str:
    """Parse the query and return its form (SELECT, ASK, CONSTRUCT or DESCRIBE).

    A SPARQL Update (INSERT, DELETE, LOAD...) is refused with an :class:`InputError` that says
    so: treatykg answers questions and never changes a store through a query.
    Raises :class:`QuerySyntaxError` with the line and column of the first error. pyoxigraph
    parses the query by answering it on an empty store, which would call every SERVICE it names:
    the query is checked with each ``SERVICE [SILENT]`` written as ``GRAPH`` (the same grammar,
    padded to the same length), so that no endpoint is asked and positions do not move.
    """
    update = update_keyword(text)
    if update is not None:
        line, column = _line_and_column(text, update[1])
        raise InputError(
            f"{source}: is a SPARQL Update ({update[0]} at line {line}, column {column}); "
            "updates are not run: give a SELECT, ASK, CONSTRUCT or DESCRIBE query"
        )
    try:
        result = ox.Store().query(_without_services(text))
    except SyntaxError as error:
        match = _SYNTAX.search(str(error))
        if match is None:
            raise InputError(f"{source}: syntax error: {error}") from None
        line, column = _token_position(text, int(match["line"]), int(match["column"]))
        raise QuerySyntaxError(source, line, column, match["what"]) from None
    except (OSError, RuntimeError, ValueError):  # it parsed; answering on nothing failed
        result = None
    if isinstance(result, ox.QueryBoolean):
        return "ASK"
    if isinstance(result, ox.QuerySolutions):
        return "SELECT"
    return query_form(text)[0] or "SELECT"


def _without_services(text: str) -> str:
    """Return the query with ``SERVICE`` and ``SERVICE SILENT`` replaced by ``GRAPH`` (padded).

    >>> _without_services('SELECT * { SERVICE  silent <x:e> { ?s ?p "SERVICE" } }')
    'SELECT * { GRAPH           <x:e> { ?s ?p "SERVICE" } }'
    """
    out = list(text)
    after_service = False
    for match in _TOKEN.finditer(text):
        kind, token = match.lastgroup, match.group()
        if kind in ("space", "comment"):
            continue
        if kind == "name" and token.upper() == "SERVICE":
            out[match.start() : match.end()] = "GRAPH".ljust(len(token))
            after_service = True
            continue
        if after_service and kind == "name" and token.upper() == "SILENT":
            out[match.start() : match.end()] = " " * len(token)
        after_service = False
    return "".join(out)


def _line_and_column(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def _token_position(text: str, line: int, column: int) -> tuple[int, int]:
    """Move an error position that falls on white space to the token it is about.

    pyoxigraph places the error after the white space it skipped, at the end of the input when
    nothing follows; the token that failed is the next one, or the last one at the end.
    """
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return line, column
    offset = sum(len(x) + 1 for x in lines[: line - 1]) + column - 1
    if offset < len(text) and not text[offset].isspace():
        return line, column
    ahead = re.compile(r"\S").search(text, min(offset, len(text)))
    if ahead is not None:
        offset = ahead.start()
    else:
        offset = len(text.rstrip()) - 1
        if offset < 0:
            return line, column
    return _line_and_column(text, offset)


def _strip_comments(text: str) -> str:
    kept = []
    for match in _TOKEN.finditer(text):
        if match.lastgroup != "comment":
            kept.append(" " if match.lastgroup == "string" else match.group())
    return "".join(kept)


# --- running ------------------------------------------------------------------------------------


def run(
    query: StoredQuery,
    values: Mapping[str, str] | None = None,
    *,
    store: ox.Store | None = None,
    endpoint: str | None = None,
    engine: str = "oxigraph",
    dataset=None,
    timeout: float | None = None,
) -> Answer:
    """Answer a stored (or user's) query with its parameters bound.

    ``values`` are the parameters as typed (``{"lang": "ru"}``); missing ones take the header's
    default. The query runs on ``endpoint`` if given, else on the embedded engine: Oxigraph
    (``store``, loaded from the project when None) or rdflib (``dataset``). ``timeout`` is how
    long to wait for the endpoint's answer (default :data:`ENDPOINT_TIMEOUT`).

    >>> from treatykg.catalogue import stored_query
    >>> answer = run(stored_query("days-between-signing-and-entry-into-force"))
    >>> answer.rows[0][-1].value
    '56'
    """
    bindings = query.bindings(dict(values or {}))
    form = check_syntax(query.text, str(query.path))
    on_rdflib = engine == "rdflib" and not endpoint
    text = bind_parameters(query.text, bindings, expand_unicode_escapes=on_rdflib)
    if endpoint:
        return run_on_endpoint(endpoint, text, form, timeout=timeout or ENDPOINT_TIMEOUT)
    if engine == "rdflib":
        return run_on_rdflib(dataset if dataset is not None else open_rdflib_dataset(), text, form)
    if engine != "oxigraph":
        raise InputError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}")
    return run_on_store(store if store is not None else open_store(), text, form)


def open_store() -> ox.Store:
    """Return the embedded store with the project's ontology and graph, one graph per source."""
    from treatykg.loading import load_store

    return load_store()


def open_rdflib_dataset():
    """Return an rdflib Dataset with the project's ontology and graph, one graph per source."""
    from treatykg.rdflib_graphs import load_rdflib_dataset

    return load_rdflib_dataset()


def run_on_store(store: ox.Store, text: str, form: str) -> Answer:
    """Answer the (already bound) query on a pyoxigraph store, over the union of its graphs."""
    try:
        result = store.query(text, use_default_graph_as_union=True)
        return _answer_from_oxigraph(result, form)
    except SyntaxError as error:
        raise InputError(f"syntax error: {error}") from None
    except (OSError, RuntimeError) as error:  # e.g. a SERVICE that cannot be reached
        raise TreatyKGError(f"the store failed while answering: {error}") from None


def _answer_from_oxigraph(result, form: str) -> Answer:
    if isinstance(result, ox.QueryBoolean):
        return Answer("ASK", boolean=bool(result))
    if isinstance(result, ox.QuerySolutions):
        variables = [v.value for v in result.variables]
        rows = [tuple(solution[v] for v in variables) for solution in result]
        return Answer("SELECT", variables=variables, rows=rows)
    return Answer(form, triples=list(result))


def run_on_rdflib(dataset, text: str, form: str) -> Answer:
    """Answer the (already bound) query with rdflib's SPARQL engine over the union of graphs."""
    from rdflib import BNode, Literal, URIRef

    def to_ox(term):
        if term is None:
            return None
        if isinstance(term, URIRef):
            return ox.NamedNode(str(term))
        if isinstance(term, BNode):
            return ox.BlankNode(str(term))
        if isinstance(term, Literal):
            if term.language:
                return ox.Literal(str(term), language=term.language)
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype or _XSD_STRING)))
        raise InputError(f"unsupported term from rdflib: {term!r}")

    dataset.default_union = True
    try:  # rdflib evaluates lazily: reading the rows is part of answering
        result = dataset.query(text)
        if result.type == "ASK":
            return Answer("ASK", boolean=bool(result.askAnswer))
        if result.type == "SELECT":
            variables = [str(v) for v in result.vars]
            rows = [tuple(to_ox(row[v]) for v in variables) for row in result]
            return Answer("SELECT", variables=variables, rows=rows)
        triples = [ox.Triple(to_ox(s), to_ox(p), to_ox(o)) for s, p, o in result.graph]
        return Answer(form, triples=triples)
    except TreatyKGError:
        raise
    except Exception as error:  # rdflib raises many kinds; the user sees one line
        raise TreatyKGError(f"rdflib failed to answer: {error}") from None


ENDPOINT_TIMEOUT = 60.0
"""Seconds to wait for a remote endpoint's answer, unless told otherwise (``--timeout``)."""


def run_on_endpoint(url: str, text: str, form: str, *, timeout: float = ENDPOINT_TIMEOUT) -> Answer:
    """Answer the (already bound) query on a remote SPARQL endpoint through SPARQLWrapper.

    The endpoint must offer the union of the named graphs as its default graph (see the module
    docstring). Results come back as SPARQL JSON or Turtle and are read by pyoxigraph, so they
    are the same terms as the embedded store's.
    """
    import SPARQLWrapper as sw
    from SPARQLWrapper.SPARQLExceptions import EndPointNotFound, SPARQLWrapperException

    _check_endpoint_url(url)
    client = sw.SPARQLWrapper(url)
    client.setMethod(sw.POST)
    client.timeout = timeout  # setTimeout() would round it to whole seconds
    client.setQuery(text)
    # SPARQLWrapper guesses the form from the first keyword it finds, comments included (a
    # header saying "dropped" made it send the query as an update): the form is known, say it.
    client.queryType = {"SELECT": sw.SELECT, "ASK": sw.ASK, "CONSTRUCT": sw.CONSTRUCT,
                        "DESCRIBE": sw.DESCRIBE}[form]  # fmt: skip
    graph_form = form in ("CONSTRUCT", "DESCRIBE")
    client.setReturnFormat(sw.TURTLE if graph_form else sw.JSON)
    try:
        response = client.query().response
        body = response.read()
        media_type = (response.headers.get("Content-Type") or "").split(";")[0].strip()
    except TimeoutError:
        raise InputError(f"SPARQL endpoint {url} did not answer within {timeout:g} s") from None
    except urllib.error.URLError as error:
        reason = getattr(error, "reason", error)
        if isinstance(reason, TimeoutError):
            raise InputError(f"SPARQL endpoint {url} did not answer within {timeout:g} s") from None
        raise InputError(f"cannot reach SPARQL endpoint {url}: {reason}") from None
    except EndPointNotFound:
        # SPARQLWrapper's own words ("not possible to connect") hide that the server answered.
        hint = "; an Oxigraph server answers at …/query" if not url.endswith("/query") else ""
        raise InputError(f"HTTP 404 from {url}: no SPARQL endpoint there{hint}") from None
    except SPARQLWrapperException as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InputError(f"SPARQL endpoint {url} refused the query: {first}") from None
    except (OSError, ValueError, http.client.HTTPException) as error:  # timeouts, refusals
        raise InputError(f"cannot reach SPARQL endpoint {url}: {error}") from None
    try:
        if graph_form:
            rdf_format = ox.RdfFormat.from_media_type(media_type) or ox.RdfFormat.TURTLE
            return Answer(form, triples=[q.triple for q in ox.parse(body, format=rdf_format)])
        results_format = ox.QueryResultsFormat.from_media_type(media_type)
        result = ox.parse_query_results(body, format=results_format or ox.QueryResultsFormat.JSON)
    except (SyntaxError, ValueError) as error:
        raise InputError(
            f"SPARQL endpoint {url} sent an answer that cannot be read: {error}"
        ) from None
    return _answer_from_oxigraph(result, form)


def _check_endpoint_url(url: str) -> None:
    """Refuse, in one line, an endpoint that is not an http(s) URL (:func:`url_problem`).

    >>> _check_endpoint_url("http://127.0.0.1:78;/q")
    Traceback (most recent call last):
    ...
    treatykg.errors.InputError: endpoint 'http://127.0.0.1:78;/q' is not an http(s) URL (bad port)
    """
    problem = url_problem(url)
    if problem is not None:
        raise InputError(f"endpoint {url!r} is not an http(s) URL ({problem})")


# --- writing answers -----------------------------------------------------------------------------


def short_name(term: Term | None) -> str:
    """Return how a term reads in a table: prefixed IRIs, bare literal values.

    >>> short_name(ox.NamedNode("https://w3id.org/treatykg/id/person/zhou-enlai"))
    'person:zhou-enlai'
    """
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        best = max(
            (ns for ns in PARAMETER_PREFIXES.values() if term.value.startswith(ns)),
            key=len,
            default="",
        )
        local = term.value[len(best) :]
        if best and re.fullmatch(r"[A-Za-z0-9_][\w\-]*", local):
            prefix = next(p for p, ns in PARAMETER_PREFIXES.items() if ns == best)
            return f"{prefix}:{local}"
        return f"<{term.value}>"
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    return term.value


def _width(text: str) -> int:
    if text.isascii():  # no ASCII character is wide; most cells are ASCII (IRIs, dates)
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _clip(text: str, limit: int = 72) -> str:
    text = " ".join(text.split())
    if _width(text) <= limit:
        return text
    out, used = [], 0
    for ch in text:
        used += _width(ch)
        if used > limit - 1:
            break
        out.append(ch)
    return "".join(out) + "…"


def format_table(answer: Answer) -> str:
    """Return a SELECT answer as an aligned text table (CJK characters count double)."""
    header = list(answer.variables)
    body = [[_clip(short_name(term)) for term in row] for row in answer.rows]
    widths = [max([_width(h)] + [_width(r[i]) for r in body]) for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True)
        ).rstrip()

    lines = [line(header), line(["-" * w for w in widths])]
    lines += [line(r) for r in body]
    count = len(answer.rows)
    lines.append(f"({count} row{'s' if count != 1 else ''})")
    return "\n".join(lines) + "\n"


def _json_term(term: Term) -> dict[str, str]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    out = {"type": "literal", "value": term.value}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype.value != _XSD_STRING:
        out["datatype"] = term.datatype.value
    return out


def results_json(answer: Answer) -> str:
    """Return a SELECT or ASK answer in the SPARQL 1.1 Query Results JSON format."""
    if answer.form == "ASK":
        return json.dumps({"head": {}, "boolean": bool(answer.boolean)})
    bindings = [
        {v: _json_term(t) for v, t in zip(answer.variables, row, strict=True) if t is not None}
        for row in answer.rows
    ]
    payload = {"head": {"vars": answer.variables}, "results": {"bindings": bindings}}
    return json.dumps(payload, ensure_ascii=False, indent=1)


def _triples_as_rows(answer: Answer) -> Answer:
    rows = [(t.subject, t.predicate, t.object) for t in sorted_triples(answer.triples)]
    return Answer("SELECT", variables=["subject", "predicate", "object"], rows=rows)


def sorted_triples(triples: Iterable[ox.Triple]) -> list[ox.Triple]:
    """Return the triples in a stable order (by their N-Triples form)."""
    return sorted(set(triples), key=lambda t: (str(t.subject), str(t.predicate), str(t.object)))


def used_prefixes(triples: Iterable[ox.Triple]) -> dict[str, str]:
    """Return the prefixes of ``PARAMETER_PREFIXES`` that some IRI of the triples starts with."""
    iris = set()
    for triple in triples:
        for term in triple:
            if isinstance(term, ox.NamedNode):
                iris.add(term.value)
            elif isinstance(term, ox.Literal):
                iris.add(term.datatype.value)
    return {
        prefix: namespace
        for prefix, namespace in PARAMETER_PREFIXES.items()
        if any(iri.startswith(namespace) for iri in iris)
    }


def format_answer(answer: Answer, fmt: str = "table") -> str:
    """Write an answer in one of ``FORMATS``.

    SELECT: table, csv, tsv, json, xml (the SPARQL 1.1 results formats). ASK: true or false in
    table, csv and tsv; the results formats in json and xml. CONSTRUCT and DESCRIBE: turtle (also
    for table), JSON-LD for json, RDF/XML for xml, one row per triple for csv and tsv.
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    if answer.form in ("CONSTRUCT", "DESCRIBE"):
        rdf_formats = {
            "table": ox.RdfFormat.TURTLE,
            "turtle": ox.RdfFormat.TURTLE,
            "json": ox.RdfFormat.JSON_LD,
            "xml": ox.RdfFormat.RDF_XML,
        }
        if fmt in rdf_formats:
            triples = sorted_triples(answer.triples)
            turtle = rdf_formats[fmt] == ox.RdfFormat.TURTLE
            prefixes = used_prefixes(triples) if turtle else None
            text = ox.serialize(triples, format=rdf_formats[fmt], prefixes=prefixes).decode()
            return _ending(text)
        return format_answer(_triples_as_rows(answer), fmt)
    if fmt == "turtle":
        raise InputError(
            f"--format turtle is for CONSTRUCT and DESCRIBE queries; this is a {answer.form} query "
            "(use table, csv, tsv, json or xml)"
        )
    if answer.form == "ASK" and fmt in ("table", "csv", "tsv"):
        return ("true" if answer.boolean else "false") + "\n"
    if fmt == "table":
        return format_table(answer)
    if fmt == "json":
        return results_json(answer) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180, as SPARQL CSV asks
        writer.writerow(answer.variables)
        for row in answer.rows:
            writer.writerow(["" if t is None else _csv_value(t) for t in row])
        return out.getvalue()
    results_format = {"tsv": ox.QueryResultsFormat.TSV, "xml": ox.QueryResultsFormat.XML}[fmt]
    parsed = ox.parse_query_results(
        results_json(answer).encode("utf-8"), format=ox.QueryResultsFormat.JSON
    )
    return _ending(parsed.serialize(format=results_format).decode("utf-8"))


def _ending(text: str) -> str:
    """``text`` ending in a newline, as every answer printed on a terminal or piped should."""
    return text if not text or text.endswith("\n") else text + "\n"


def _csv_value(term: Term) -> str:
    return f"_:{term.value}" if isinstance(term, ox.BlankNode) else term.value
