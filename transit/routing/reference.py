"""The slow, obviously correct router: a time-expanded graph in networkx.

It reads the snapshot's raw rows (cities, calendars, timetables, stops, fares, walks) and
nothing of the engine: it evaluates calendars and converts times itself, builds one graph per
query and answers with ``networkx`` Dijkstra (lexicographic objectives packed into one
integer weight) and, for the Pareto set, a plain label-setting search over the same graph.

Graph (docs/routing.md, "The reference"):
- ``("d", run, i)`` / ``("a", run, i)``: a run departs / arrives at its ``i``-th stop;
- ``("w", city, t)``: ready to board at a city at instant ``t``, chained in time order;
- ride edges ``d(i) -> a(i+1)`` and stay-aboard edges ``a(i) -> d(i)`` for additive fares;
  services with zone fares get one ride edge ``d(i) -> a(j)`` per pair of stops instead;
- boarding ``w -> d``, alighting ``a -> w(t + connection time)``, walking ``a -> w(t + walk)``;
- ``ORIG -> d`` for departures from the origin, and from a city a walk from it no earlier than
  the window's start plus the walk; ``a -> SNK`` for arrivals at the destination, and at a city
  a walk to it no later than the window's end less the walk; ``ORIG -> SNK`` for the walk from
  origin to destination alone (one boarding for the count: 0 transfers).

Every edge carries (tt, dd, b, f): its share of the objective time (arrival minus window start;
with arrive-by, window end minus departure), of the journey's duration, of the boardings and
of the fare.
"""

from __future__ import annotations

import datetime as dt
import heapq
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import networkx as nx

from transit.routing.query import Query, UnknownCity
from transit.routing.snapshot import Snapshot

# Lexicographic weights packed in one integer: time > duration > boardings > fare.
W_FARE = 1
W_RIDES = 10**10
W_DURATION = 10**15
W_TIME = 10**22


@dataclass(frozen=True)
class Outcome:
    """A journey's objective values (absolute seconds, cents)."""

    departure: int | None
    arrival: int | None
    fare: int
    transfers: int


def _runs_on(rule: Any, day: dt.date) -> bool:
    if day in rule.removed:
        return False
    if day in rule.added:
        return True
    if rule.start is not None and day < rule.start:
        return False
    if rule.end is not None and day > rule.end:
        return False
    return (rule.weekdays >> day.weekday()) & 1 == 1


def _abs(day: dt.date, seconds: int, zone: str) -> int:
    noon = dt.datetime(day.year, day.month, day.day, 12, tzinfo=ZoneInfo(zone))
    return int(noon.timestamp()) - 12 * 3600 + seconds


class ReferenceGraph:
    """The time-expanded graph of one query (see the module docstring)."""

    def __init__(self, snap: Snapshot, query: Query) -> None:
        query.check()
        if query.origin not in snap.city_index:
            raise UnknownCity(query.origin)
        if query.destination not in snap.city_index:
            raise UnknownCity(query.destination)
        self.snap = snap
        self.query = query
        origin = snap.city_index[query.origin]
        dest = snap.city_index[query.destination]
        window = int(round(query.window_hours * 3600))
        self.arrive_by = query.arrive_by is not None
        if query.arrive_by is not None:
            high = _instant(query.arrive_by, snap.city_zone[dest])
            low = high - window
        else:
            assert query.depart is not None, "the reference needs an explicit time"
            low = _instant(query.depart, snap.city_zone[origin])
            high = low + window
        self.low, self.high = low, high
        default = snap.default_min_connection_seconds
        mct = [
            query.min_connection_minutes * 60
            if query.min_connection_minutes is not None
            else (int(m) if m >= 0 else default)
            for m in snap.city_mct.tolist()
        ]
        walks: dict[int, list[tuple[int, int]]] = {}
        for a, pairs in snap.walks.items():
            walks[a] = list(pairs)
        # The walks at the journey's ends: from the origin to where the first ride boards,
        # from where the last ride alights to the destination (the shortest of each).
        first_walk: dict[int, int] = {}
        last_walk: dict[int, int] = {}
        for a, walked in walks.items():
            for c, walk_secs in walked:
                if a == origin:
                    first_walk[c] = min(walk_secs, first_walk.get(c, walk_secs))
                if c == dest:
                    last_walk[a] = min(walk_secs, last_walk.get(a, walk_secs))
        edges: list[tuple[Any, Any, int, int, int, int]] = []
        wait_times: dict[int, set[int]] = {}
        zones = snap.city_zone
        cities = snap.stop_city.tolist()
        arrs = snap.stop_arr.tolist()
        deps = snap.stop_dep.tolist()
        fares = snap.stop_fare.tolist()
        boards = snap.stop_board.tolist()
        alights = snap.stop_alight.tolist()
        first_rows = snap.trip_first.tolist()
        lengths = snap.trip_len.tolist()
        day0 = dt.date(1970, 1, 1) + dt.timedelta(days=low // 86400)
        longest = int(max(max(arrs, default=0), max(deps, default=0)))
        days = [
            day0 + dt.timedelta(days=k)
            for k in range(-(longest // 86400) - 2, (high - low) // 86400 + 3)
        ]
        orig_edges: list[tuple[Any, int, int]] = []  # (node, time, walk before it)
        snk_edges: list[tuple[Any, int, int]] = []  # (node, time, walk after it)
        for trip, service in enumerate(snap.trip_service.tolist()):
            if query.modes is not None and snap.service_mode[service] not in query.modes:
                continue
            rule = snap.calendars[int(snap.trip_calendar[trip])]
            od = snap.service_od[service]
            rows = range(first_rows[trip], first_rows[trip] + lengths[trip])
            for day in days:
                if not _runs_on(rule, day):
                    continue
                run = (trip, day)
                t_arr = [_abs(day, arrs[r], zones[cities[r]]) for r in rows]
                t_dep = [_abs(day, deps[r], zones[cities[r]]) for r in rows]
                if t_dep[0] > high or t_arr[-1] < low:
                    continue
                n = len(rows)
                for i in range(n - 1):
                    r = rows[i]
                    if not boards[r] or t_dep[i] < low:
                        continue
                    wait_times.setdefault(cities[r], set()).add(t_dep[i])
                    edges.append((("w", cities[r], t_dep[i]), ("d", run, i), 0, 0, 1, 0))
                    if cities[r] == origin:
                        orig_edges.append((("d", run, i), t_dep[i], 0))
                    first = first_walk.get(cities[r])
                    if first is not None and t_dep[i] - first >= low:
                        orig_edges.append((("d", run, i), t_dep[i], first))
                for i in range(n - 1):
                    if t_dep[i] < low:
                        continue
                    if od is None:
                        t = t_arr[i + 1] - t_dep[i]
                        edges.append((("d", run, i), ("a", run, i + 1), t, t, 0, fares[rows[i + 1]]))
                        if 0 < i:
                            t = t_dep[i] - t_arr[i]
                            edges.append((("a", run, i), ("d", run, i), t, t, 0, 0))
                    else:
                        running = 0
                        for j in range(i + 1, n):
                            running += fares[rows[j]]
                            price = od.get((cities[rows[i]], cities[rows[j]]), running)
                            t = t_arr[j] - t_dep[i]
                            edges.append((("d", run, i), ("a", run, j), t, t, 0, price))
                for j in range(1, n):
                    r = rows[j]
                    if not alights[r] or t_arr[j] > high:
                        continue
                    c = cities[r]
                    ready = t_arr[j] + mct[c]
                    wait_times.setdefault(c, set()).add(ready)
                    edges.append((("a", run, j), ("w", c, ready), mct[c], mct[c], 0, 0))
                    for c2, secs in walks.get(c, ()):
                        wait_times.setdefault(c2, set()).add(t_arr[j] + secs)
                        edges.append((("a", run, j), ("w", c2, t_arr[j] + secs), secs, secs, 0, 0))
                    if c == dest:
                        snk_edges.append((("a", run, j), t_arr[j], 0))
                    last = last_walk.get(c)
                    if last is not None and t_arr[j] + last <= high:
                        snk_edges.append((("a", run, j), t_arr[j], last))
        for c, times in wait_times.items():
            ordered = sorted(times)
            for t1, t2 in zip(ordered, ordered[1:], strict=False):
                edges.append((("w", c, t1), ("w", c, t2), t2 - t1, t2 - t1, 0, 0))
        # A walk at either end adds its time to the journey's duration; arriving by, the
        # objective time (deadline minus departure) counts the first walk too.
        for node, t, secs in orig_edges:
            tt = secs if self.arrive_by else t - low
            edges.append(("ORIG", node, tt, secs, 1, 0))
        for node, t, secs in snk_edges:
            tt = high - t if self.arrive_by else secs
            edges.append((node, "SNK", tt, secs, 0, 0))
        # A walk from the origin to the destination alone: a journey of one "ride" for the
        # count (0 transfers), fare 0, leaving at the window's start (arriving at its end).
        alone = last_walk.get(origin)
        if alone is not None and alone <= high - low:
            edges.append(("ORIG", "SNK", alone, alone, 1, 0))
        self.max_rides = None if query.max_transfers is None else query.max_transfers + 1
        g = nx.DiGraph()
        for u, v, tt, dd, b, f in edges:
            if self.max_rides is None:
                _add_edge(g, u, v, tt, dd, b, f)
                continue
            for layer in range(self.max_rides + 1):
                if layer + b > self.max_rides:
                    continue
                _add_edge(g, (u, layer), (v, layer + b), tt, dd, b, f)
        if self.max_rides is not None:
            for layer in range(self.max_rides + 1):
                if g.has_node(("SNK", layer)):
                    g.add_edge(("SNK", layer), "SNK", tt=0, dd=0, b=0, f=0)
            self.source: Any = ("ORIG", 0)
        else:
            self.source = "ORIG"
        self.graph = g

    def _dijkstra(self, weight: Any) -> int | None:
        if self.source not in self.graph or "SNK" not in self.graph:
            return None
        try:
            return int(nx.dijkstra_path_length(self.graph, self.source, "SNK", weight=weight))
        except nx.NetworkXNoPath:
            return None

    def _time_of(self, t_total: int) -> tuple[int | None, int | None]:
        """(departure, arrival) known from the objective time."""
        if self.arrive_by:
            return self.high - t_total, None
        return None, self.low + t_total

    def fastest(self) -> Outcome | None:
        """Earliest arrival, latest departure, fewest transfers, lowest fare (mirrored)."""
        dist = self._dijkstra(
            lambda u, v, d: d["tt"] * W_TIME + d["dd"] * W_DURATION + d["b"] * W_RIDES + d["f"]
        )
        if dist is None:
            return None
        t_total, rest = divmod(dist, W_TIME)
        duration, rest = divmod(rest, W_DURATION)
        rides, fare = divmod(rest, W_RIDES)
        if self.arrive_by:
            departure = self.high - t_total
            arrival = departure + duration
        else:
            arrival = self.low + t_total
            departure = arrival - duration
        return Outcome(departure, arrival, fare, rides - 1)

    def cheapest(self) -> Outcome | None:
        dist = self._dijkstra(lambda u, v, d: d["f"] * W_DURATION + d["tt"])
        if dist is None:
            return None
        fare, t_total = divmod(dist, W_DURATION)
        departure, arrival = self._time_of(t_total)
        return Outcome(departure, arrival, fare, -1)

    def fewest_transfers(self) -> Outcome | None:
        dist = self._dijkstra(lambda u, v, d: d["b"] * W_DURATION + d["tt"])
        if dist is None:
            return None
        rides, t_total = divmod(dist, W_DURATION)
        departure, arrival = self._time_of(t_total)
        return Outcome(departure, arrival, -1, rides - 1)

    def options(self) -> list[Outcome]:
        """The Pareto set over (objective time, fare, boardings), by label setting."""
        g = self.graph
        if self.source not in g:
            return []
        permanent: dict[Any, list[tuple[int, int, int]]] = {}
        heap: list[tuple[int, int, int, int, Any]] = [(0, 0, 0, 0, self.source)]
        counter = 1
        while heap:
            t, f, b, _, node = heapq.heappop(heap)
            labels = permanent.setdefault(node, [])
            if any(t2 <= t and f2 <= f and b2 <= b for t2, f2, b2 in labels):
                continue
            labels.append((t, f, b))
            if node == "SNK":
                continue
            for nxt, d in g[node].items():
                heapq.heappush(heap, (t + d["tt"], f + d["f"], b + d["b"], counter, nxt))
                counter += 1
        out = []
        for t, f, b in permanent.get("SNK", []):
            departure, arrival = self._time_of(t)
            out.append(Outcome(departure, arrival, f, b - 1))
        return sorted(out, key=lambda o: (o.arrival or 0, -(o.departure or 0), o.fare))


def _add_edge(g: nx.DiGraph, u: Any, v: Any, tt: int, dd: int, b: int, f: int) -> None:
    # Parallel rides between the same events cannot differ in time; keep the cheapest.
    old = g.get_edge_data(u, v)
    if old is None or (f, b) < (old["f"], old["b"]):
        g.add_edge(u, v, tt=tt, dd=dd, b=b, f=f)


def _instant(value: dt.datetime, zone: str) -> int:
    if value.tzinfo is None or isinstance(value.tzinfo, ZoneInfo):
        local = value.replace(tzinfo=None)
        value = value if value.tzinfo is not None else value.replace(tzinfo=ZoneInfo(zone))
        if value.astimezone(dt.UTC).astimezone(value.tzinfo).replace(tzinfo=None) != local:
            # A local time the clocks skip: the first second whose local time is not
            # earlier (docs/routing.md), found one second at a time.
            moment = int(value.replace(fold=1).timestamp())
            while dt.datetime.fromtimestamp(moment, value.tzinfo).replace(tzinfo=None) < local:
                moment += 1
            return moment
    return int(value.timestamp())


def reference_answer(snap: Snapshot, query: Query) -> list[Outcome]:
    """The reference's answer to ``query``: one outcome (or none), or the Pareto set."""
    graph = ReferenceGraph(snap, query)
    if query.criterion == "options":
        return graph.options()
    found = {
        "fastest": graph.fastest,
        "cheapest": graph.cheapest,
        "transfers": graph.fewest_transfers,
    }[query.criterion]()
    return [found] if found is not None else []
