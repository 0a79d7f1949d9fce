"""A workflow's diagram: its states laid out in layers and drawn as inline SVG.

No Graphviz (a system binary) and no script: ``transitions`` draws only through Graphviz or
as Mermaid source, which needs mermaid.js in the browser. The layout is a small layered
drawing (after Sugiyama), enough for workflows of a few dozen states:

1. **ranks**: a depth-first search from the initial state (transitions in file order) finds
   the edges that go back; a state's rank is its longest path from the start over the rest;
2. **long edges** pass through dummy points, one per rank, shared by the sources of one
   transition: its edges merge into one arrowhead and one label;
3. **order** within a rank: barycentre sweeps (ties in file order), keeping the order with
   the fewest crossings;
4. **x**: the main path (a longest one from the start) stands on one vertical line; every
   other point moves to the weighted median of its neighbours, then apart again with the
   least movement (isotonic regression); long edges weigh most, so they stay straight;
5. edges going back run up a lane left of the drawing; self-loops bulge right of their state.

Ranks run top to bottom, so trigger labels sit across the edges and stay legible however
many states a workflow has. The same workflow gives the same bytes; ElementTree escapes text.
"""

from __future__ import annotations

import itertools
import re
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from doctrack.engine.definition import WorkflowDef

_SVG_NS = "http://www.w3.org/2000/svg"
_BOX_W = 168.0  # a state's box
_FONT = 13.0
_LINE_H = 16.0
_PAD_Y = 9.0
_WRAP = 19  # characters per line of a state's label (about 0.6 em each)
_LABEL_FONT = 11.0
_LABEL_CHAR = 6.8  # a monospace character at 11 px, with some slack
_LABEL_H = 14.0
_RANK_GAP = 66.0  # between rows: room for the trigger labels
_GAP = 40.0  # between boxes of a row
_DUMMY_GAP = 18.0  # beside a point that a long edge passes through
_MARGIN = 12.0
_TOP = 44.0  # above the first row: the start marker
_LANE = 14.0  # between the lanes of edges going back
_LOOP = 30.0  # how far a self-loop bulges
_JOIN = 14.0  # merged edges meet this far above their state
_INK = "#212121"
_LINE = "#607d8b"
_MUTED = "#37474f"
_CURRENT = "#1565c0"
_FONTS = '"DejaVu Sans", "Noto Sans", "Liberation Sans", Arial, sans-serif'
_MONO = '"DejaVu Sans Mono", "Liberation Mono", monospace'


Point = tuple[float, float]


class EdgeKind(StrEnum):
    """How a transition is drawn."""

    FORWARD = "forward"  # down the layers
    BACK = "back"  # up a lane on the left
    LOOP = "loop"  # from a state to itself


@dataclass(frozen=True, slots=True, kw_only=True)
class Rect:
    """A box by its top-left corner."""

    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height

    def overlaps(self, other: Rect) -> bool:
        return (
            self.x < other.right
            and other.x < self.right
            and self.y < other.bottom
            and other.y < self.bottom
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """A state, placed."""

    state: str
    label: str
    lines: tuple[str, ...]  # the label, wrapped
    rank: int
    box: Rect
    initial: bool
    final: bool
    adopted: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Edge:
    """One transition's arrows of one kind (its sources merge), and where its label goes."""

    trigger: str
    sources: tuple[str, ...]
    dest: str
    kind: EdgeKind
    paths: tuple[str, ...]  # SVG path data; the last one ends in the arrowhead
    label: Rect


@dataclass(frozen=True, slots=True, kw_only=True)
class Layout:
    """A workflow laid out: states in file order, then the edges in file order; ``view``
    holds them all, labels included (its corner may be left of or above 0)."""

    view: Rect
    nodes: dict[str, Node]
    edges: tuple[Edge, ...]
    start: Point  # the start marker, above the initial state


def _n(value: float) -> str:
    """A coordinate, to a tenth of a pixel."""
    return f"{round(value, 1):g}"


def _label_width(text: str) -> float:
    return len(text) * _LABEL_CHAR + 6


@dataclass(slots=True)
class _Graph:
    """The layered graph: states first (file order), then dummy points; links go down."""

    rank: list[int]
    dummy: list[bool]
    left: list[float]  # extent of each point left and right of its x
    right: list[float]
    links: list[tuple[int, int]] = field(default_factory=list)
    spine: set[int] = field(default_factory=set)  # the states of the main path
    merging: set[tuple[int, int]] = field(default_factory=set)  # from a source into a merge
    rows: list[list[int]] = field(default_factory=list)

    def add_dummy(self, rank: int) -> int:
        self.rank.append(rank)
        self.dummy.append(True)
        self.left.append(0.0)
        self.right.append(0.0)
        return len(self.rank) - 1

    def weight(self, a: int, b: int) -> float:
        """How hard ``a`` and ``b`` pull into line: long edges most, merging edges least."""
        if self.dummy[a] and self.dummy[b]:
            return 8.0
        if (a, b) in self.merging or (b, a) in self.merging:
            return 0.5
        return 1.0 if self.dummy[a] or self.dummy[b] else 2.0

    def gap(self, a: int, b: int) -> float:
        return _DUMMY_GAP if self.dummy[a] or self.dummy[b] else _GAP


def _ranks(wf: WorkflowDef) -> tuple[dict[str, int], list[str]]:
    """Each state's rank, the length of its longest path from the start over the edges that
    do not go back (a depth-first search finds those); and the main path, a longest one."""
    succ: dict[str, list[str]] = {s: [] for s in wf.states}
    for t in wf.transitions:
        for s in t.sources:
            if t.dest not in succ[s]:
                succ[s].append(t.dest)
    back: set[tuple[str, str]] = set()
    mark: dict[str, bool] = {}  # False while on the stack, True once done
    finished: list[str] = []
    for root in [wf.initial, *wf.states]:
        if root in mark:
            continue
        mark[root] = False
        stack = [(root, iter(succ[root]))]
        while stack:
            node, rest = stack[-1]
            nxt = next(rest, None)
            if nxt is None:
                mark[node] = True
                finished.append(node)
                stack.pop()
            elif nxt not in mark:
                mark[nxt] = False
                stack.append((nxt, iter(succ[nxt])))
            elif not mark[nxt]:
                back.add((node, nxt))
    rank = dict.fromkeys(wf.states, 0)
    for node in reversed(finished):  # a topological order of the edges that go forward
        for nxt in succ[node]:
            if (node, nxt) not in back:
                rank[nxt] = max(rank[nxt], rank[node] + 1)
    below = dict.fromkeys(wf.states, 0)  # the longest path on from each state
    for node in finished:
        below[node] = max((below[n] + 1 for n in succ[node] if (node, n) not in back), default=0)
    main = [wf.initial]
    while below[main[-1]]:
        node = main[-1]
        main.append(
            next(n for n in succ[node] if (node, n) not in back and below[n] == below[node] - 1)
        )
    return rank, main


def _crossings(g: _Graph, rows: list[list[int]]) -> int:
    where = {p: i for row in rows for i, p in enumerate(row)}
    count = 0
    for i, (a1, b1) in enumerate(g.links):
        for a2, b2 in g.links[i + 1 :]:
            if g.rank[a1] == g.rank[a2] and (where[a1] - where[a2]) * (where[b1] - where[b2]) < 0:
                count += 1
    return count


def _order(g: _Graph) -> None:
    """Barycentre sweeps down and up; the order with the fewest crossings wins."""
    up: dict[int, list[int]] = {}
    down: dict[int, list[int]] = {}
    for a, b in g.links:
        down.setdefault(a, []).append(b)
        up.setdefault(b, []).append(a)
    rows = [list(r) for r in g.rows]
    best, fewest = [list(r) for r in rows], _crossings(g, rows)
    for _ in range(6):
        for sweep, near in ((range(1, len(rows)), up), (range(len(rows) - 2, -1, -1), down)):
            for r in sweep:
                other = {p: i for i, p in enumerate(rows[r - 1 if near is up else r + 1])}
                keys = {}
                for i, p in enumerate(rows[r]):
                    seen = [other[q] for q in near.get(p, []) if q in other]
                    keys[p] = sum(seen) / len(seen) if seen else float(i)
                rows[r].sort(key=lambda p: keys[p])
            count = _crossings(g, rows)
            if count < fewest:
                best, fewest = [list(r) for r in rows], count
    g.rows = best


def _apart(g: _Graph, row: list[int], wanted: list[float], weight: list[float]) -> list[float]:
    """Positions nearest (least squares) to ``wanted`` that keep the row's order and gaps:
    isotonic regression by pooling adjacent violators."""
    offsets = [0.0]
    for a, b in itertools.pairwise(row):
        offsets.append(offsets[-1] + g.right[a] + g.gap(a, b) + g.left[b])
    blocks: list[list[float]] = []  # [value, weight, size]
    for want, off, w in zip(wanted, offsets, weight, strict=True):
        blocks.append([want - off, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            v2, w2, n2 = blocks.pop()
            v1, w1, n1 = blocks.pop()
            blocks.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    values = [v for v, _, size in blocks for _ in range(int(size))]
    return [v + off for v, off in zip(values, offsets, strict=True)]


def _weighted_median(pairs: list[tuple[float, float]]) -> float:
    pairs.sort()
    half = sum(w for _, w in pairs) / 2
    total = 0.0
    for i, (x, w) in enumerate(pairs):
        total += w
        if total > half:
            return x
        if total == half:
            return (x + pairs[i + 1][0]) / 2
    return pairs[-1][0]


def _xs(g: _Graph) -> list[float]:
    """x of every point. The main path stands on one vertical line (x = 0); every other
    point moves to the weighted median of its neighbours, then its row spreads apart with
    the least movement; a few rounds, down and up."""
    near: dict[int, list[int]] = {}
    for a, b in g.links:
        near.setdefault(a, []).append(b)
        near.setdefault(b, []).append(a)
    x = [0.0] * len(g.rank)
    order = list(range(len(g.rows)))
    for _ in range(8):
        for r in order + order[::-1]:
            row = g.rows[r]
            wanted = [
                0.0
                if p in g.spine or p not in near
                else _weighted_median([(x[q], g.weight(p, q)) for q in near[p]])
                for p in row
            ]
            weight = [1e9 if p in g.spine else 1.0 if g.dummy[p] else 4.0 for p in row]
            for p, value in zip(row, _apart(g, row, wanted, weight), strict=True):
                x[p] = value
    return [round(v, 2) for v in x]


def _wrap(label: str) -> tuple[str, ...]:
    return tuple(textwrap.wrap(label, _WRAP, break_on_hyphens=True)) or (label,)


def _bezier(p0: Point, p3: Point, t: float) -> Point:
    """A point of the vertical S-curve from ``p0`` to ``p3`` (see :func:`_curve`)."""
    mid = (p0[1] + p3[1]) / 2
    controls = (p0, (p0[0], mid), (p3[0], mid), p3)
    u = 1 - t
    k = (u**3, 3 * u * u * t, 3 * u * t * t, t**3)
    return (
        sum(c * x for c, (x, _) in zip(k, controls, strict=True)),
        sum(c * y for c, (_, y) in zip(k, controls, strict=True)),
    )


def _curve(points: Sequence[Point]) -> str:
    """Path data through ``points``, leaving and entering each one vertically."""
    (x0, y0), *rest = points
    data = [f"M{_n(x0)},{_n(y0)}"]
    for x1, y1 in rest:
        dy = (y1 - y0) / 2
        data.append(f"C{_n(x0)},{_n(y0 + dy)} {_n(x1)},{_n(y1 - dy)} {_n(x1)},{_n(y1)}")
        x0, y0 = x1, y1
    return " ".join(data)


def _orthogonal(points: Sequence[Point], radius: float = 6.0) -> str:
    """Path data along horizontal and vertical runs through ``points``, corners rounded."""
    data = [f"M{_n(points[0][0])},{_n(points[0][1])}"]
    for (xa, ya), (xb, yb), (xc, yc) in zip(points, points[1:], points[2:], strict=False):
        r = min(radius, abs(xb - xa) / 2 + abs(yb - ya) / 2, abs(xc - xb) / 2 + abs(yc - yb) / 2)
        before = (xb - r * _sign(xb - xa), yb - r * _sign(yb - ya))
        after = (xb + r * _sign(xc - xb), yb + r * _sign(yc - yb))
        data.append(f"L{_n(before[0])},{_n(before[1])}")
        data.append(f"Q{_n(xb)},{_n(yb)} {_n(after[0])},{_n(after[1])}")
    data.append(f"L{_n(points[-1][0])},{_n(points[-1][1])}")
    return " ".join(data)


def _sign(v: float) -> float:
    return (v > 0) - (v < 0)


class _Labels:
    """Label boxes placed so far: a new one takes the first spot that overlaps nothing."""

    def __init__(self, boxes: Iterable[Rect]) -> None:
        self.taken = list(boxes)

    def place(self, spots: Sequence[Point], width: float, anchor: str) -> Rect:
        """``spots`` are (x, middle y) in order of preference; ``anchor`` start|middle|end."""
        shift = {"start": 0.0, "middle": width / 2, "end": width}[anchor]
        boxes = [
            Rect(x=x - shift, y=y - _LABEL_H / 2, width=width, height=_LABEL_H) for x, y in spots
        ]
        chosen = next((b for b in boxes if not any(b.overlaps(t) for t in self.taken)), boxes[0])
        self.taken.append(chosen)
        return chosen


def _graph(
    wf: WorkflowDef, rank_of: dict[str, int], main: list[str]
) -> tuple[_Graph, list[dict[int, int]]]:
    """The layered graph, and per transition its chain: rank -> point (the dest at its own
    rank, a dummy point at each rank between its highest forward source and the dest)."""
    names = list(wf.states)
    index = {s: i for i, s in enumerate(names)}
    loops: dict[str, list[str]] = {}  # the triggers of a state's self-loops
    for t in wf.transitions:
        if t.dest in t.sources:
            loops.setdefault(t.dest, []).append(t.trigger)
    right = [
        _BOX_W / 2
        + max(
            (_loop_reach(j) + 8 + _label_width(tr) for j, tr in enumerate(loops.get(s, []))),
            default=0,
        )
        for s in names
    ]
    g = _Graph(
        rank=[rank_of[s] for s in names],
        dummy=[False] * len(names),
        left=[_BOX_W / 2] * len(names),
        right=right,
        spine={index[s] for s in main},
    )
    chains: list[dict[int, int]] = []
    for t in wf.transitions:
        end = rank_of[t.dest]
        forward = [s for s in dict.fromkeys(t.sources) if rank_of[s] < end]
        chain = {end: index[t.dest]}
        if forward:
            first = min(rank_of[s] for s in forward)
            chain |= {r: g.add_dummy(r) for r in range(first + 1, end)}
            g.links += [(chain[r], chain[r + 1]) for r in range(first + 1, end)]
            feeders = [(index[s], chain[rank_of[s] + 1]) for s in forward]
            g.links += feeders
            if len(feeders) > 1:
                g.merging.update(feeders)
        chains.append(chain)
    g.rows = [[] for _ in range(max(g.rank) + 1)]
    for p, r in enumerate(g.rank):
        g.rows[r].append(p)
    return g, chains


def _loop_reach(j: int) -> float:
    return _LOOP + _LANE * j


class _Drawer:
    """Draws the edges of placed states, keeping their labels clear of boxes and each other."""

    def __init__(self, nodes: dict[str, Node], points: list[Point], lane_left: float) -> None:
        self.nodes = nodes
        self.points = points
        self.lane_left = lane_left  # lanes go left of this, one per transition going back
        self.lanes = 0
        self.loops: dict[str, int] = {}
        self.labels = _Labels(n.box for n in nodes.values())

    def top(self, state: str) -> Point:
        b = self.nodes[state].box
        return b.x + b.width / 2, b.y

    def bottom(self, state: str) -> Point:
        b = self.nodes[state].box
        return b.x + b.width / 2, b.bottom

    def forward(self, trigger: str, sources: list[str], dest: str, chain: dict[int, int]) -> Edge:
        """Down through the chain's points; several sources meet just above ``dest``."""
        end = self.nodes[dest].rank
        trunk = [self.points[chain[r]] for r in sorted(chain) if r != end]
        paths: list[str]
        if len(sources) == 1:
            line = [self.bottom(sources[0]), *trunk, self.top(dest)]
            paths = [_curve(line)]
            middle = (len(line) - 2) // 2
            a, b = line[middle], line[middle + 1]
        else:
            tx, ty = self.top(dest)
            join = (tx, ty - _JOIN)

            def entry(source: str) -> Point:  # the chain's point one rank down, or the join
                below = self.nodes[source].rank + 1
                return join if below == end else self.points[chain[below]]

            paths = [_curve([self.bottom(s), entry(s)]) for s in sources]
            tail = [*trunk, join]
            if len(tail) > 1:
                paths.append(_curve(tail))
                middle = (len(tail) - 1) // 2
                a, b = tail[middle], tail[middle + 1]
            else:
                a, b = self.bottom(sources[0]), join
            paths.append(f"M{_n(tx)},{_n(join[1])} V{_n(ty)}")
        spots = [_bezier(a, b, f) for f in (0.5, 0.35, 0.65, 0.2, 0.8)]
        label = self.labels.place(spots, _label_width(trigger), "middle")
        return Edge(
            trigger=trigger,
            sources=tuple(sources),
            dest=dest,
            kind=EdgeKind.FORWARD,
            paths=tuple(paths),
            label=label,
        )

    def back(self, trigger: str, sources: list[str], dest: str) -> Edge:
        """Up from each source's top, along a lane left of everything, into ``dest``'s
        bottom."""
        k = self.lanes
        self.lanes += 1
        lane = self.lane_left - _LANE * (k + 1)
        d = self.nodes[dest].box
        enter = (d.x + d.width / 4, d.bottom)
        enter_y = d.bottom + 12 + 4 * k
        feeders: list[list[Point]] = []
        for s in sources:
            b = self.nodes[s].box
            run = b.y - 12 - 4 * k
            feeders.append([(b.x + b.width / 4, b.y), (b.x + b.width / 4, run), (lane, run)])
        low = max(f[-1][1] for f in feeders)
        ending: list[Point] = [(lane, enter_y), (enter[0], enter_y), enter]
        if len(sources) == 1:
            paths = [_orthogonal([*feeders[0], *ending])]
        else:
            paths = [*(_orthogonal(f) for f in feeders), _orthogonal([(lane, low), *ending])]
        spots = [(lane - 4, enter_y + (low - enter_y) * f) for f in (0.5, 0.3, 0.7, 0.15, 0.85)]
        label = self.labels.place(spots, _label_width(trigger), "end")
        return Edge(
            trigger=trigger,
            sources=tuple(sources),
            dest=dest,
            kind=EdgeKind.BACK,
            paths=tuple(paths),
            label=label,
        )

    def loop(self, trigger: str, state: str) -> Edge:
        """A curve out of the right side of ``state`` and back; each further one wider."""
        j = self.loops.get(state, 0)
        self.loops[state] = j + 1
        b = self.nodes[state].box
        cy = b.y + b.height / 2
        reach = b.right + _loop_reach(j)
        bulge = 24 + 4 * j
        path = (
            f"M{_n(b.right)},{_n(cy - 7)} C{_n(reach)},{_n(cy - bulge)} "
            f"{_n(reach)},{_n(cy + bulge)} {_n(b.right)},{_n(cy + 7)}"
        )
        x = b.right + _loop_reach(j) * 0.75 + 8
        spots = [(x, cy), (x, cy - _LABEL_H), (x, cy + _LABEL_H)]
        label = self.labels.place(spots, _label_width(trigger), "start")
        return Edge(
            trigger=trigger,
            sources=(state,),
            dest=state,
            kind=EdgeKind.LOOP,
            paths=(path,),
            label=label,
        )


def layout(wf: WorkflowDef) -> Layout:
    """Where each state's box goes and how each transition runs."""
    rank_of, main = _ranks(wf)
    g, chains = _graph(wf, rank_of, main)
    _order(g)
    x = _xs(g)
    lines = {s: _wrap(d.label) for s, d in wf.states.items()}
    heights = {s: len(ls) * _LINE_H + 2 * _PAD_Y for s, ls in lines.items()}
    middle: list[float] = []
    top = _TOP
    for r in range(len(g.rows)):
        tallest = max(h for s, h in heights.items() if rank_of[s] == r)
        middle.append(top + tallest / 2)
        top += tallest + _RANK_GAP
    backs = [
        [s for s in dict.fromkeys(t.sources) if rank_of[s] > rank_of[t.dest]]
        for t in wf.transitions
    ]
    widest_back = max(
        (_label_width(t.trigger) for t, b in zip(wf.transitions, backs, strict=True) if b),
        default=0.0,
    )
    lanes = sum(1 for b in backs if b)
    lane_room = widest_back + 4 + _LANE * lanes if lanes else 0.0
    shift = _MARGIN + lane_room - min(v - g.left[p] for p, v in enumerate(x))
    x = [v + shift for v in x]

    nodes: dict[str, Node] = {}
    for p, (s, d) in enumerate(wf.states.items()):
        h = heights[s]
        nodes[s] = Node(
            state=s,
            label=d.label,
            lines=lines[s],
            rank=rank_of[s],
            box=Rect(x=x[p] - _BOX_W / 2, y=middle[rank_of[s]] - h / 2, width=_BOX_W, height=h),
            initial=s == wf.initial,
            final=d.final,
            adopted=d.adopted,
        )
    draw = _Drawer(nodes, [(v, middle[g.rank[p]]) for p, v in enumerate(x)], _MARGIN + lane_room)
    edges: list[Edge] = []
    for t, chain, back in zip(wf.transitions, chains, backs, strict=True):
        forward = [s for s in dict.fromkeys(t.sources) if rank_of[s] < rank_of[t.dest]]
        if forward:
            edges.append(draw.forward(t.trigger, forward, t.dest, chain))
        if back:
            edges.append(draw.back(t.trigger, back, t.dest))
        if t.dest in t.sources:
            edges.append(draw.loop(t.trigger, t.dest))
    init = nodes[wf.initial].box
    right = max(v + g.right[p] for p, v in enumerate(x)) + _MARGIN
    bottom = top - _RANK_GAP + _MARGIN
    left = min([0.0, *(e.label.x - _MARGIN for e in edges)])
    right = max([right, *(e.label.right + _MARGIN for e in edges)])
    return Layout(
        view=Rect(x=left, y=0.0, width=right - left, height=bottom),
        nodes=nodes,
        edges=tuple(edges),
        start=(init.x + init.width / 2, init.y - 26),
    )


def _id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", text)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(
        parent, tag, {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
    )
    if text is not None:
        element.text = text
    return element


def diagram_svg(wf: WorkflowDef, *, current: str | None = None) -> str:
    """The workflow as an ``<svg>`` element (no XML prolog), ``current`` highlighted.

    Colours and fonts are presentation attributes, so the file looks right on its own too;
    the classes (``node current final initial``, ``edge forward|back|loop``, ``trigger``) let
    a stylesheet restyle it when it is inline. Raises ``KeyError`` for an unknown state.
    """
    if current is not None and current not in wf.states:
        raise KeyError(current)
    plan = layout(wf)
    box = plan.view
    prefix = f"wf-{_id(wf.name)}"
    described = f"Workflow {wf.title}: {len(wf.states)} states, {len(wf.transitions)} transitions"
    if current is not None:
        described += f"; current state: {wf.label(current)}"
    finals = [wf.label(s) for s, d in wf.states.items() if d.final]
    described += f"; starts at {wf.label(wf.initial)}"
    if finals:
        described += f"; final: {', '.join(finals)}"
    svg = ET.Element(
        "svg",
        {
            "xmlns": _SVG_NS,
            "class": "workflow-diagram",
            "viewBox": " ".join(_n(v) for v in (box.x, box.y, box.width, box.height)),
            "width": _n(box.width),
            "height": _n(box.height),
            "role": "img",
            "aria-label": described,
            "data-workflow": wf.name,
        },
    )
    _sub(svg, "title", f"Workflow {wf.title}")
    defs = _sub(svg, "defs")
    marker = _sub(
        defs,
        "marker",
        id=f"{prefix}-arrow",
        viewBox="0 0 10 10",
        refX="9",
        refY="5",
        markerWidth="7",
        markerHeight="7",
        orient="auto-start-reverse",
    )
    _sub(marker, "path", d="M0,0 L10,5 L0,10 z", fill=_LINE)
    arrow = f"url(#{prefix}-arrow)"

    lines = _sub(svg, "g", class_="edges", fill="none", stroke=_LINE, stroke_width="1.4")
    sx, sy = plan.start
    start = _sub(lines, "g", class_="start")
    _sub(start, "circle", cx=_n(sx), cy=_n(sy), r="6", fill=_MUTED, stroke="none")
    init_top = plan.nodes[wf.initial].box.y
    _sub(start, "path", d=f"M{_n(sx)},{_n(sy + 6)} V{_n(init_top)}", marker_end=arrow)
    for e in plan.edges:
        group = _sub(
            lines,
            "g",
            class_=f"edge {e.kind}",
            data_trigger=e.trigger,
            data_sources=" ".join(e.sources),
            data_dest=e.dest,
        )
        froms = ", ".join(wf.label(s) for s in e.sources)
        _sub(group, "title", f"{e.trigger}: {froms} → {wf.label(e.dest)}")
        extra = {} if e.kind is EdgeKind.FORWARD else {"stroke-dasharray": "5 3"}
        for i, d in enumerate(e.paths):
            attrs = {"d": d, **extra}
            if i == len(e.paths) - 1:
                attrs["marker-end"] = arrow
            ET.SubElement(group, "path", attrs)

    states = _sub(svg, "g", class_="nodes", font_family=_FONTS, font_size=_n(_FONT))
    for node in plan.nodes.values():
        here = node.state == current
        flags = {"initial": node.initial, "final": node.final, "adopted": node.adopted}
        classes = ["node", *(c for c, on in flags.items() if on), *(["current"] if here else [])]
        group = _sub(states, "g", class_=" ".join(classes), data_state=node.state)
        marks = {"start": node.initial, "final": node.final, "current": here}
        notes = ", ".join([node.state, *(m for m, on in marks.items() if on)])
        _sub(group, "title", f"{node.label} ({notes})")
        b = node.box
        _sub(
            group,
            "rect",
            x=_n(b.x),
            y=_n(b.y),
            width=_n(b.width),
            height=_n(b.height),
            rx="8",
            fill=_CURRENT if here else "#ffffff",
            stroke="#0d47a1" if here else _LINE,
            stroke_width="2" if here else "1.4",
        )
        if node.final:
            _sub(
                group,
                "rect",
                class_="inner",
                x=_n(b.x + 4),
                y=_n(b.y + 4),
                width=_n(b.width - 8),
                height=_n(b.height - 8),
                rx="5",
                fill="none",
                stroke="#ffffff" if here else _LINE,
                stroke_width="1",
            )
        text = _sub(
            group,
            "text",
            text_anchor="middle",
            fill="#ffffff" if here else _INK,
            font_weight="bold" if here else "normal",
        )
        first = b.y + b.height / 2 - (len(node.lines) - 1) * _LINE_H / 2 + _FONT * 0.35
        for i, line in enumerate(node.lines):
            _sub(text, "tspan", line, x=_n(b.x + b.width / 2), y=_n(first + i * _LINE_H))

    labels = _sub(
        svg,
        "g",
        class_="triggers",
        font_family=_MONO,
        font_size=_n(_LABEL_FONT),
        fill=_MUTED,
        stroke="#ffffff",
        stroke_width="4",
        stroke_linejoin="round",
        paint_order="stroke",
    )
    for e in plan.edges:
        r = e.label
        _sub(
            labels,
            "text",
            e.trigger,
            class_=f"trigger {e.kind}",
            data_trigger=e.trigger,
            x=_n(r.x + r.width / 2),
            y=_n(r.y + r.height / 2 + _LABEL_FONT * 0.35),
            text_anchor="middle",
        )
    return ET.tostring(svg, encoding="unicode")
