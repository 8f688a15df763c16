"""The catalogue of stored queries: reads ``queries/*.rq`` and their headers.

Every stored query opens with a fixed comment header that this module reads::

    # title: Who signed the treaty
    # question: Who signed the treaty, for which state, in which office?
    # question-zh: 谁签署了条约？代表哪个国家？以何职位？
    # param: treaty (IRI) = treaty:treaty-1950 — the treaty
    # answer: one row per signer: signer, signerLabel, state, stateLabel, office, officeLabel

A parameter line is ``name (type) = default — description``. The parameter is bound to the SPARQL
variable of the same name (``?treaty``); the default is written as a user would type it after
``--param name=``. Types are listed in ``PARAMETER_TYPES``. A query of a user's own may leave the
default out (``name (type) — description``) to make the parameter required; stored queries give
every default, so that ``treatykg query run-all`` can answer them all.

A header may also state a rule that the parameters' values must keep together, one per
``check`` line: ``# check: from <= to — the first year comes no later than the last``. The
operators are ``<``, ``<=``, ``=``, ``!=``, ``>=`` and ``>``, between two parameters of the same
type; ``<`` and its kin compare integers and dates by value and strings by code point, IRIs only
by ``=`` and ``!=``. Values that break a check are refused before the query runs (one line, exit
status 2), instead of answering a question that cannot have an answer with no rows.
"""

from __future__ import annotations

import datetime as dt
import difflib
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from treatykg import paths
from treatykg.errors import InputError
from treatykg.namespaces import GRAPH, ID, PREFIXES

XSD = "http://www.w3.org/2001/XMLSchema#"

ENTITY_TYPES = (
    "treaty", "article", "person", "state", "org", "office", "holding", "place", "event",
    "policy", "work", "image", "concept", "source", "claim", "signature", "link", "dataset",
)  # fmt: skip
"""The ``<type>`` part of entity IRIs (docs/model.md, "IRI policy")."""

PARAMETER_PREFIXES: dict[str, str] = {
    **PREFIXES,
    **{kind: f"{ID}{kind}/" for kind in ENTITY_TYPES},
    "g": GRAPH,
}
"""Prefixes a user may use in an IRI parameter (``person:zhou-enlai``)."""

PARAMETER_TYPES: dict[str, str] = {
    "IRI": "an IRI, as <https://…> or prefix:name (e.g. treaty:treaty-1950)",
    "string": "a string",
    "lang": "a language tag such as en, zh-Hans, zh-Hant or ru",
    "langString": "a text with a language tag, as text@lang (e.g. 日本@zh-Hans)",
    "integer": "an integer such as 1 or 42",
    "date": "a date as YYYY-MM-DD (e.g. 1950-02-14)",
}
"""The parameter types a header may declare, each with what a value must look like."""

REQUIRED_FIELDS = ("title", "question", "question-zh", "answer")
"""Header fields every stored query must have (``param`` lines are optional)."""

QUERY_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_HEADER_LINE = re.compile(r"^#\s*(?P<key>[a-z][a-z-]*)\s*:\s?(?P<value>.*)$")
_PARAM_LINE = re.compile(
    r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*\((?P<type>[A-Za-z]+)\)(?:\s*=\s*(?P<default>.+?))?"
    r"\s+—\s+(?P<description>.+)$"
)
_CHECK_LINE = re.compile(
    r"^(?P<left>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<operator><=|>=|!=|<|>|=)\s*"
    r"(?P<right>[A-Za-z_][A-Za-z0-9_]*)\s+—\s+(?P<description>.+)$"
)
CHECK_OPERATORS: dict[str, Callable[[object, object], bool]] = {
    "<": operator.lt, "<=": operator.le, "=": operator.eq,
    "!=": operator.ne, ">=": operator.ge, ">": operator.gt,
}  # fmt: skip
"""The operators of a header's ``check`` line."""
_ORDERED_TYPES = ("integer", "date", "string", "lang")
"""Parameter types whose values ``<``, ``<=``, ``>=`` and ``>`` may compare."""
_LANG_TAG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_BARE_IRI_SCHEMES = frozenset({"http", "https", "urn"})
"""Schemes of IRIs that may be given without angle brackets; any other needs <…>."""
_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_PREFIXED_NAME = re.compile(r"^(?P<prefix>[A-Za-z][\w-]*)?:(?P<local>[\w.-]*)$")


@dataclass(frozen=True)
class Parameter:
    """A parameter of a stored query, bound to the SPARQL variable of the same name."""

    name: str
    type: str
    default: str | None
    description: str

    def term(self, raw: str | None = None) -> ox.NamedNode | ox.Literal:
        """Return the RDF term for ``raw`` (the default when None), checked against the type.

        >>> Parameter("n", "integer", "1", "an article number").term("6")
        <Literal value=6 datatype=<NamedNode value=http://www.w3.org/2001/XMLSchema#integer>>
        """
        if raw is None:
            raw = self.default
        if raw is None:
            raise InputError(
                f"parameter {self.name!r} is required: {PARAMETER_TYPES[self.type]}; "
                f"give --param {self.name}=VALUE"
            )
        return parameter_term(self.name, self.type, raw)


@dataclass(frozen=True)
class Check:
    """A rule between two parameters' values, from a header line ``# check: a <= b — why``."""

    left: str
    operator: str
    right: str
    description: str

    def __str__(self) -> str:
        return f"{self.left} {self.operator} {self.right}"

    def holds(self, left: ox.NamedNode | ox.Literal, right: ox.NamedNode | ox.Literal) -> bool:
        """Return whether the two bound terms keep the rule (compared by value).

        >>> Check("from", "<=", "to", "").holds(ox.Literal("1980", datatype=ox.NamedNode(
        ...     XSD + "integer")), ox.Literal("1950", datatype=ox.NamedNode(XSD + "integer")))
        False
        """
        return CHECK_OPERATORS[self.operator](_comparable(left), _comparable(right))


def _comparable(term: ox.NamedNode | ox.Literal) -> object:
    if isinstance(term, ox.Literal):
        if term.datatype.value == XSD + "integer":
            return int(term.value)
        if term.datatype.value == XSD + "date":
            return dt.date.fromisoformat(term.value)
        if term.language:
            return (term.value, term.language.lower())
    return term.value


@dataclass(frozen=True)
class StoredQuery:
    """A query file with its header. ``name`` is the file name without ``.rq``."""

    name: str
    path: Path
    text: str
    header: dict[str, str] = field(default_factory=dict)
    parameters: tuple[Parameter, ...] = ()
    checks: tuple[Check, ...] = ()

    @property
    def title(self) -> str:
        return self.header.get("title", self.name)

    def missing_fields(self) -> list[str]:
        """Return the required header fields this query lacks (empty when complete)."""
        return [key for key in REQUIRED_FIELDS if not self.header.get(key, "").strip()]

    def parameter(self, name: str) -> Parameter:
        """Return the parameter called ``name``, or raise InputError naming the known ones."""
        for parameter in self.parameters:
            if parameter.name == name:
                return parameter
        known = ", ".join(p.name for p in self.parameters) or "none"
        raise InputError(f"query {self.name} has no parameter {name!r} (its parameters: {known})")

    def bindings(
        self, values: dict[str, str] | None = None
    ) -> dict[str, ox.NamedNode | ox.Literal]:
        """Return every parameter's RDF term: the given value, else the header's default.

        Raises :class:`InputError` for an unknown parameter, a value of the wrong type, or
        values that break one of the header's checks.
        """
        values = dict(values or {})
        for name in values:
            self.parameter(name)
        terms = {p.name: p.term(values.get(p.name)) for p in self.parameters}
        for check in self.checks:
            if not check.holds(terms[check.left], terms[check.right]):
                raise InputError(
                    f"query {self.name} needs {check} ({check.description}); got "
                    f"{check.left}={terms[check.left].value}, {check.right}="
                    f"{terms[check.right].value}"
                )
        return terms


def parameter_term(name: str, kind: str, raw: str) -> ox.NamedNode | ox.Literal:
    """Turn a value typed by a user into an RDF term of the declared type.

    The value becomes a term (never query text), so it cannot change the query's meaning.

    >>> parameter_term("treaty", "IRI", "treaty:treaty-1950")
    <NamedNode value=https://w3id.org/treatykg/id/treaty/treaty-1950>
    >>> parameter_term("lang", "lang", "zh-Hans")
    <Literal value=zh-Hans datatype=<NamedNode value=http://www.w3.org/2001/XMLSchema#string>>
    """

    def bad(reason: str = "") -> InputError:
        expected = PARAMETER_TYPES.get(kind, kind)
        detail = f" ({reason})" if reason else ""
        return InputError(f"parameter {name!r} expects {expected}; got {raw!r}{detail}")

    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:  # bytes of a command line that is not UTF-8 ("\xff" -> "\udcff")
        raise bad("not UTF-8 text") from None
    if kind == "IRI":
        return _iri_term(raw, bad)
    if kind == "string":
        return ox.Literal(raw)
    if kind == "lang":
        _tagged("", raw, bad)
        return ox.Literal(raw)
    if kind == "langString":
        text, at, lang = raw.rpartition("@")
        if not at:
            raise bad()
        return _tagged(text, lang, bad)
    if kind == "integer":
        if not _INTEGER.match(raw.strip()):
            raise bad()
        return ox.Literal(str(int(raw)), datatype=ox.NamedNode(XSD + "integer"))
    if kind == "date":
        if not _DATE.match(raw.strip()):
            raise bad()
        try:
            dt.date.fromisoformat(raw.strip())
        except ValueError as error:
            raise bad(str(error)) from None
        return ox.Literal(raw.strip(), datatype=ox.NamedNode(XSD + "date"))
    raise InputError(
        f"parameter {name!r} has unknown type {kind!r}; known: {', '.join(PARAMETER_TYPES)}"
    )


def _tagged(text: str, lang: str, bad) -> ox.Literal:
    """Return ``text@lang``, refusing a tag that is not BCP 47 (``A`` passes the pattern but no
    language is written with one letter: pyoxigraph refuses it, and so must we, in one line)."""
    if not _LANG_TAG.match(lang):
        raise bad()
    try:
        return ox.Literal(text, language=lang)
    except ValueError as error:
        raise bad(str(error)) from None


def _iri_term(raw: str, bad) -> ox.NamedNode:
    value = raw.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    else:
        match = _PREFIXED_NAME.match(value)
        if match and (match["prefix"] or "") in PARAMETER_PREFIXES:
            value = PARAMETER_PREFIXES[match["prefix"] or ""] + match["local"]
        elif not _ABSOLUTE_IRI.match(value):
            raise bad("not an absolute IRI and not a known prefix")
        elif value.split(":", 1)[0].lower() not in _BARE_IRI_SCHEMES:
            # "traety:treaty-1950" is a typo far more often than an IRI of scheme "traety".
            raise bad(
                f"unknown prefix {value.split(':', 1)[0]!r} (known: "
                f"{', '.join(sorted(PARAMETER_PREFIXES))}); write any other IRI as <…>"
            )
    # pyoxigraph checks the IRI grammar (no spaces, quotes, braces...); NTriples-safe afterwards.
    if any(ch in value for ch in '<>"{}|^`\\') or any(ord(ch) <= 0x20 for ch in value):
        raise bad("contains a character not allowed in an IRI")
    try:
        return ox.NamedNode(value)
    except ValueError as error:
        raise bad(str(error)) from None


def parse_header(
    text: str, source: str
) -> tuple[dict[str, str], tuple[Parameter, ...], tuple[Check, ...]]:
    """Read the comment header at the top of a query: its fields, parameters and checks.

    The header is the run of ``# key: value`` lines before the first line that is not a comment.
    A comment line without ``key:`` continues the previous field's value.
    """
    header: dict[str, str] = {}
    parameters: list[Parameter] = []
    checks: list[tuple[int, Check]] = []
    last_key = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            last_key = None
            continue
        if not stripped.startswith("#"):
            break
        match = _HEADER_LINE.match(stripped)
        if match is None:
            continuation = stripped.lstrip("#").strip()
            if last_key and last_key not in ("param", "check") and continuation:
                header[last_key] += " " + continuation
            continue
        key, value = match["key"], match["value"].strip()
        last_key = key
        if key == "param":
            param = _PARAM_LINE.match(value)
            if param is None:
                raise InputError(
                    f"{source}:{number}: a parameter line reads "
                    f"'# param: name (type) = default — description'; got {value!r}"
                )
            if param["type"] not in PARAMETER_TYPES:
                raise InputError(
                    f"{source}:{number}: parameter {param['name']!r} has unknown type "
                    f"{param['type']!r}; known: {', '.join(PARAMETER_TYPES)}"
                )
            default = param["default"].strip() if param["default"] else None
            parameters.append(
                Parameter(param["name"], param["type"], default, param["description"])
            )
        elif key == "check":
            check = _CHECK_LINE.match(value)
            if check is None:
                raise InputError(
                    f"{source}:{number}: a check line reads "
                    f"'# check: name <= other — description'; got {value!r}"
                )
            checks.append((number, Check(**check.groupdict())))
        else:
            header[key] = value
    _check_checks(checks, parameters, source)
    return header, tuple(parameters), tuple(check for _, check in checks)


def _check_checks(
    checks: list[tuple[int, Check]], parameters: list[Parameter], source: str
) -> None:
    """Refuse a check on an undeclared parameter, or one that compares what cannot be ordered."""
    types = {p.name: p.type for p in parameters}
    for number, check in checks:
        for name in (check.left, check.right):
            if name not in types:
                raise InputError(
                    f"{source}:{number}: check {check} names {name!r}, which is not a parameter "
                    f"(parameters: {', '.join(types) or 'none'})"
                )
        left, right = types[check.left], types[check.right]
        if left != right:
            raise InputError(
                f"{source}:{number}: check {check} compares a parameter of type {left} with one "
                f"of type {right}; compare parameters of one type"
            )
        if check.operator not in ("=", "!=") and left not in _ORDERED_TYPES:
            raise InputError(
                f"{source}:{number}: check {check}: values of type {left} are compared only "
                "by = and !="
            )


def read_query_file(path: Path) -> StoredQuery:
    """Read one query file (a stored one or a user's own) with its header, if any."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"no such query file: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read query file {path}: {error}") from None
    header, parameters, checks = parse_header(text, str(path))
    return StoredQuery(Path(path).stem, Path(path), text, header, parameters, checks)


def query_paths(folder: Path | None = None) -> list[Path]:
    """Return the stored query files, sorted by name."""
    return sorted((folder or paths.queries_dir()).glob("*.rq"))


def stored_queries(folder: Path | None = None) -> list[StoredQuery]:
    """Return every stored query with its header, sorted by name."""
    return [read_query_file(path) for path in query_paths(folder)]


def stored_query(name: str, folder: Path | None = None) -> StoredQuery:
    """Return the stored query called ``name``; an unknown name suggests the closest ones."""
    names = [path.stem for path in query_paths(folder)]
    if name.endswith(".rq"):
        name = name[:-3]
    if name in names:
        return read_query_file((folder or paths.queries_dir()) / f"{name}.rq")
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.4)
    if not close:  # a word of the name is often enough: "japan" -> articles-that-mention-japan
        close = [candidate for candidate in names if name.lower() in candidate][:3]
    hint = f"; closest: {', '.join(close)}" if close else "; see `treatykg query list`"
    raise InputError(f"no stored query named {name!r}{hint}")
