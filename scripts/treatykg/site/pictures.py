"""The layouts of the site's three pictures: the timeline, the map and the treaty's neighbourhood.

Each function returns plain data (positions, sizes, texts, links); the SVG itself is written by
the Jinja templates ``timeline.svg``, ``map.svg`` and ``neighbourhood.svg``. Layouts are
deterministic: the same graph gives the same picture, byte for byte.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from importlib import resources

import pyoxigraph as ox

from treatykg.site.graphdata import (
    DATE_PROPERTIES,
    GEO,
    ID,
    Claim,
    DateValue,
    GraphData,
    T,
    date_value,
)

FIRST_YEAR = 1945
LAST_YEAR = 1980

# -- timeline ----------------------------------------------------------------------------------


@dataclass
class Mark:
    """A date drawn on a row: x from the first to the last day it covers."""

    x: float
    width: float
    precision: str
    text: str
    disputed: bool = False
    alternative: bool = False  # a value a source gives that is not the preferred one
    rank: str = ""
    source: str = ""


@dataclass
class Row:
    iri: str
    href: str
    label: str
    y: float
    kind: str  # "moment" or "period"
    marks: list[Mark] = field(default_factory=list)
    bar: tuple[float, float] | None = None  # a period's bar, from its start to its end
    clipped_left: str = ""  # the year it began, when before the first year
    clipped_right: str = ""
    open_end: bool = False  # a period with a start and no known end
    disputed: bool = False
    note: str = ""


@dataclass
class Timeline:
    width: int
    height: int
    left: float
    right: float
    top: float
    years: list[tuple[float, int]]
    rows: list[Row]
    row_height: float


def _x_scale(left: float, right: float):
    start = dt.date(FIRST_YEAR, 1, 1).toordinal()
    end = dt.date(LAST_YEAR + 1, 1, 1).toordinal()

    def x(day: dt.date) -> float:
        ordinal = min(max(day.toordinal(), start), end)
        return left + (right - left) * (ordinal - start) / (end - start)

    return x


def _in_range(value: DateValue) -> bool:
    return FIRST_YEAR <= value.year <= LAST_YEAR


def timeline(data: GraphData, href) -> Timeline:
    """Every dated event and period from 1945 to 1980, one row each, in time order."""
    left, right, top, row_height = 300.0, 1100.0, 46.0, 30.0
    x = _x_scale(left, right)
    rows: list[tuple[str, Row]] = []
    for iri in data.entities:
        if T + "OfficeHolding" in data.types(iri) or T + "Claim" in data.types(iri):
            continue
        dates: dict[str, list[DateValue]] = {}
        for prop in DATE_PROPERTIES:
            found = [d for d in (date_value(o) for o in data.values(iri, prop)) if d]
            if found:
                dates[prop] = found
        if not dates:
            continue
        every = [d for found in dates.values() for d in found]
        claims = {prop: data.claims.get((iri, prop), []) for prop in DATE_PROPERTIES}
        every += [d for cs in claims.values() for d in (date_value(c.value) for c in cs) if d]
        if not any(_in_range(d) for d in every):
            continue
        row = Row(iri, href(iri), data.label(iri), 0.0, "moment")
        start_prop, end_prop, date_prop = DATE_PROPERTIES[1], DATE_PROPERTIES[2], DATE_PROPERTIES[0]
        if start_prop in dates or end_prop in dates:
            row.kind = "period"
            start = dates.get(start_prop, [None])[0]
            end = dates.get(end_prop, [None])[0]
            first = start.span()[0] if start else None
            last = end.span()[1] if end else None
            bar_from = x(first) if first else left
            bar_to = x(last) if last else right
            row.bar = (bar_from, max(bar_to, bar_from + 2))
            if start and start.year < FIRST_YEAR:
                row.clipped_left = str(start.year)
            if end and end.year > LAST_YEAR:
                row.clipped_right = str(end.year)
            row.open_end = start is not None and end is None
            for prop, value, role in ((start_prop, start, "from"), (end_prop, end, "to")):
                if value is None:
                    continue
                row.marks += _marks(data, x, prop, value, claims[prop], role)
        else:
            for value in dates[date_prop]:
                row.marks += _marks(data, x, date_prop, value, claims[date_prop], "")
        row.disputed = any(m.disputed for m in row.marks)
        row.note = "; ".join(
            dict.fromkeys(m.text for m in row.marks if not m.alternative and m.text)
        ) + ("; no end date in the graph" if row.open_end else "")
        first_day = min(d.span()[0] for d in every)
        rows.append((first_day.isoformat(), row))
    rows.sort(key=lambda pair: (pair[0], pair[1].label))
    placed = []
    for i, (_key, row) in enumerate(rows):
        row.y = top + 24 + i * row_height
        placed.append(row)
    years = [(x(dt.date(year, 1, 1)), year) for year in range(FIRST_YEAR, LAST_YEAR + 2)]
    height = int(top + 24 + len(placed) * row_height + 70)
    return Timeline(1120, height, left, right, top, years, placed, row_height)


def _marks(
    data: GraphData, x, prop: str, value: DateValue, claims: list[Claim], role: str
) -> list[Mark]:
    """The preferred date, and the other values sources give for it (if any) as alternatives."""
    alternatives: list[tuple[DateValue, Claim]] = []
    for claim in claims:
        other = date_value(claim.value)
        if other is not None and other != value and all(other != a for a, _ in alternatives):
            alternatives.append((other, claim))
    disputed = bool(alternatives)
    prefix = f"{role} " if role else ""

    def mark(date: DateValue, alternative: bool, claim: Claim | None) -> Mark:
        first, after = date.span()
        left = x(first)
        return Mark(
            x=left,
            width=max(x(after) - left, 0.0),
            precision=date.precision,
            text=prefix + date.human(),
            disputed=disputed,
            alternative=alternative,
            rank=claim.rank if claim else "preferred",
            source=data.label(claim.sources[0]) if claim and claim.sources else "",
        )

    marks = [mark(value, False, None)]
    marks += [mark(date, True, claim) for date, claim in alternatives if _in_range(date)]
    return marks


# -- map ---------------------------------------------------------------------------------------


@dataclass
class MapPlace:
    iri: str
    href: str
    label: str
    x: float
    y: float
    lat: float
    long: float
    events: list[tuple[str, str, str]]  # (href, label, date)
    label_dx: float = 8.0
    label_dy: float = 4.0
    anchor: str = "start"


@dataclass
class MapPicture:
    width: int
    height: int
    land: list[str]
    meridians: list[tuple[float, int]]
    parallels: list[tuple[float, int]]
    places: list[MapPlace]
    bounds: tuple[float, float, float, float]


def _land_rings() -> list[list[tuple[float, float]]]:
    """Land outlines (Natural Earth 1:110m, public domain), as shipped with the site's files.

    A ring that crosses the antimeridian (Russia's, at Chukotka) is drawn east of it: its points
    west of -100° are moved by 360°, so that no edge runs across the whole map.
    """
    text = resources.files("treatykg.site").joinpath("static/land-110m.json").read_text("utf-8")
    rings = []
    for ring in json.loads(text)["rings"]:
        if any(lon > 100 for lon, _ in ring) and any(lon < -100 for lon, _ in ring):
            ring = [(lon + 360 if lon < -100 else lon, lat) for lon, lat in ring]
        rings.append([(lon, lat) for lon, lat in ring])
    return rings


def map_picture(data: GraphData, href) -> MapPicture:
    """The places with coordinates on an equirectangular map, each with the events held there."""
    found = []
    for iri in data.entities:
        lat = data.value(iri, GEO + "lat")
        long = data.value(iri, GEO + "long")
        if isinstance(lat, ox.Literal) and isinstance(long, ox.Literal):
            found.append((iri, float(lat.value), float(long.value)))
    lats = [lat for _i, lat, _l in found] or [40.0]
    longs = [long for _i, _l, long in found] or [100.0]
    west, east = math.floor(min(longs) / 10) * 10 - 10, math.ceil(max(longs) / 10) * 10 + 10
    south, north = math.floor(min(lats) / 10) * 10 - 10, math.ceil(max(lats) / 10) * 10 + 20
    width = 1100
    scale = width / (east - west)
    # Equirectangular with the parallels stretched by 1/cos(mid-latitude): shapes look right.
    stretch = 1 / math.cos(math.radians((north + south) / 2))
    height = int((north - south) * scale * stretch)

    def project(lat: float, long: float) -> tuple[float, float]:
        return (long - west) * scale, (north - lat) * scale * stretch

    land = []
    for ring in _land_rings():
        if not any(
            west - 30 <= lon <= east + 30 and south - 30 <= lat <= north + 30 for lon, lat in ring
        ):
            continue
        points = [project(lat, lon) for lon, lat in ring]
        land.append("M" + "L".join(f"{px:.1f},{py:.1f}" for px, py in points) + "Z")
    happened: dict[str, list[tuple[str, str, str]]] = {}
    for iri in data.entities:
        for prop in (T + "place", T + "placeSigned"):
            for place in data.values(iri, prop):
                if not isinstance(place, ox.NamedNode):
                    continue
                when = date_value(data.value(iri, T + "date") or data.value(iri, T + "dateSigned"))
                if T + "Signing" in data.types(iri) or prop == T + "place":
                    entry = (href(iri), data.label(iri), when.human() if when else "")
                    happened.setdefault(place.value, [])
                    if entry not in happened[place.value]:
                        happened[place.value].append(entry)
    places = []
    for iri, lat, long in sorted(found, key=lambda f: (-f[1], f[2])):
        px, py = project(lat, long)
        events = sorted(happened.get(iri, []), key=lambda e: (e[2][-4:], e[1]))
        # Events in a building are shown at the building and at the city it is in.
        places.append(MapPlace(iri, href(iri), data.label(iri), px, py, lat, long, events))
    _spread_labels(places)
    meridians = [(project(0, lon)[0], lon) for lon in range(west + 10, east, 10)]
    parallels = [(project(lat, 0)[1], lat) for lat in range(south + 10, north, 10)]
    return MapPicture(width, height, land, meridians, parallels, places, (west, east, south, north))


def _spread_labels(places: list[MapPlace]) -> None:
    """Keep the labels of places close together from overlapping: stack them downwards."""
    taken: list[tuple[float, float]] = []
    for place in places:
        dy = 4.0
        while any(abs(place.x - tx) < 90 and abs(place.y + dy - ty) < 16 for tx, ty in taken):
            dy += 16
        place.label_dy = dy
        if dy > 4.0:
            place.label_dx = 14.0
        taken.append((place.x, place.y + dy))


# -- neighbourhood -----------------------------------------------------------------------------


@dataclass
class Node:
    iri: str
    href: str
    label: str
    sublabel: str
    x: float
    y: float
    width: float
    group: str


@dataclass
class Group:
    name: str
    x: float
    y: float
    anchor: str


@dataclass
class Edge:
    path: str
    group: str


@dataclass
class Neighbourhood:
    width: int
    height: int
    centre: Node
    nodes: list[Node]
    groups: list[Group]
    edges: list[Edge]


GROUPS = [
    # (name, side, how members are found)
    ("Parties", "left"),
    ("Signatories", "left"),
    ("Places", "left"),
    ("Articles", "right"),
    ("Agreements", "right"),
    ("Events", "right"),
    ("Projects", "left"),
]


def neighbourhood_members(data: GraphData, treaty: str) -> dict[str, list[str]]:
    """The treaty's neighbours by group: who made it, what it holds, what came of it."""

    def out(prop: str) -> list[str]:
        return [o.value for o in data.values(treaty, T + prop) if isinstance(o, ox.NamedNode)]

    def inbound(prop: str) -> list[str]:
        return [s for s, p, _g in data.inbound.get(treaty, ()) if p == T + prop]

    events = inbound("instrument")
    places = out("placeSigned")
    for event in events:
        places += [o.value for o in data.values(event, T + "place") if isinstance(o, ox.NamedNode)]
    agreements = (
        out("signedWith") + inbound("signedWith") + inbound("supplements") + out("replaces")
    )
    members = {
        "Parties": out("party"),
        "Signatories": out("signatory"),
        "Places": places,
        "Articles": out("hasArticle"),
        "Agreements": agreements,
        "Events": events,
        "Projects": inbound("resultOf"),
    }
    result = {}
    for name, iris in members.items():
        unique = list(dict.fromkeys(i for i in iris if i.startswith(ID)))
        if name == "Articles":
            unique.sort(key=lambda i: int(str(data.value(i, T + "articleNumber").value)))
        elif name == "Events":
            unique.sort(key=lambda i: _first_date(data, i))
        else:
            unique.sort(key=lambda i: data.label(i).lower())
        result[name] = unique
    return result


def _first_date(data: GraphData, iri: str) -> str:
    for prop in DATE_PROPERTIES:
        value = date_value(data.value(iri, prop))
        if value:
            return value.iso
    return "9999"


def neighbourhood(data: GraphData, treaty: str, href) -> Neighbourhood:
    """The treaty in the middle, its neighbours in labelled columns on both sides."""
    members = neighbourhood_members(data, treaty)
    node_width, row, gap, top = 300.0, 30.0, 34.0, 30.0
    width = 1100
    columns = {"left": 30.0, "right": width - 30.0 - node_width}
    cursor = {"left": top, "right": top}
    nodes: list[Node] = []
    groups: list[Group] = []
    for name, side in GROUPS:
        iris = members.get(name, [])
        if not iris:
            continue
        x = columns[side]
        groups.append(
            Group(
                name,
                x + (0 if side == "left" else node_width),
                cursor[side] + 14,
                "start" if side == "left" else "end",
            )
        )
        cursor[side] += 24
        for iri in iris:
            label, sublabel = _node_text(data, iri, name)
            nodes.append(Node(iri, href(iri), label, sublabel, x, cursor[side], node_width, name))
            cursor[side] += row
        cursor[side] += gap - row + 10
    height = int(max(cursor.values()) + 20)
    centre_width = 300.0
    centre = Node(
        treaty,
        href(treaty),
        data.label(treaty),
        data.other_label(treaty),
        (width - centre_width) / 2,
        height / 2 - 50,
        centre_width,
        "Treaty",
    )
    edges = []
    cx_left = centre.x
    cx_right = centre.x + centre.width
    cy = centre.y + 50
    for node in nodes:
        ny = node.y + 11
        if node.x < centre.x:
            x1, x2 = node.x + node.width, cx_left
        else:
            x1, x2 = node.x, cx_right
        mid = (x1 + x2) / 2
        edges.append(
            Edge(
                f"M{x1:.1f},{ny:.1f} C{mid:.1f},{ny:.1f} {mid:.1f},{cy:.1f} {x2:.1f},{cy:.1f}",
                node.group,
            )
        )
    return Neighbourhood(width, height, centre, nodes, groups, edges)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _node_text(data: GraphData, iri: str, group: str) -> tuple[str, str]:
    """A node's label and its grey second text, together short enough for its box."""
    label = data.label(iri)
    if group == "Articles":
        number = data.value(iri, T + "articleNumber")
        label = f"Article {number.value}" if number is not None else label
        summary = data.value(iri, T + "summary")
        sub = summary.value if isinstance(summary, ox.Literal) else ""
    else:
        sub = _sublabel(data, iri)
    room = 40
    label = _short(label, max(room - len(sub) - 2, 24))
    left = room - len(label) - 2
    return label, (_short(sub, left) if sub and left >= 6 else "")


def centre_lines(text: str) -> list[str]:
    """The centre's label on two lines, split at the space nearest its middle."""
    if len(text) <= 30 or " " not in text:
        return [text]
    spaces = [i for i, ch in enumerate(text) if ch == " "]
    cut = min(spaces, key=lambda i: abs(i - len(text) / 2))
    return [text[:cut], text[cut + 1 :]]


def _sublabel(data: GraphData, iri: str) -> str:
    for prop in (*DATE_PROPERTIES, T + "dateSigned"):
        value = date_value(data.value(iri, prop))
        if value:
            return value.human()
    other = data.other_label(iri)
    return _short(other, 30)
