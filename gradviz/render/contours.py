"""Contour lines of a loss sampled on a grid (marching squares), as plain segments.

Vega-Lite, the app's chart grammar, draws lines but computes no contours, so the
optimizer playground hands it these segments joined into polylines (one line mark per
piece of a level, not one mark per segment: Rosenbrock makes about 1,500 segments). Levels are evenly
spaced in √loss, so a quadratic bowl's rings are evenly spaced (even loss levels crowd
at the rim), or 1-2-5 steps per decade for a loss that spans decades (Rosenbrock),
where even spacing would put every line on the valley's steep walls. Plain numbers
in, plain numbers out.
"""
from __future__ import annotations

import bisect
import math

Segment = tuple[float, float, float, float, float]  # x1, y1, x2, y2, level


def levels(values: list[list[float]], n: int = 12, log: bool = False) -> list[float]:
    """`n` levels strictly inside the grid's range, evenly spaced in √(loss − min), or the 1-2-5 levels in it."""
    flat = [v for row in values for v in row if math.isfinite(v)]
    lo, hi = min(flat), max(flat)
    if hi <= lo:
        return []
    if not log:
        return [lo + (hi - lo) * ((i + 1) / (n + 1)) ** 2 for i in range(n)]
    low = max(lo, hi * 1e-6)
    out = []
    for e in range(math.floor(math.log10(low)), math.ceil(math.log10(hi)) + 1):
        out.extend(m * 10.0 ** e for m in (1, 2, 5) if low < m * 10.0 ** e < hi)
    return out


def segments(xs: list[float], ys: list[float], values: list[list[float]], at: list[float]) -> list[Segment]:
    """Where the surface crosses each level, cell by cell: values[i][j] is the loss at (xs[j], ys[i])."""
    at = sorted(at)
    out: list[Segment] = []
    for i in range(len(ys) - 1):
        for j in range(len(xs) - 1):
            corners = ((xs[j], ys[i], values[i][j]), (xs[j + 1], ys[i], values[i][j + 1]),
                       (xs[j + 1], ys[i + 1], values[i + 1][j + 1]), (xs[j], ys[i + 1], values[i + 1][j]))
            zs = [c[2] for c in corners]
            if not all(math.isfinite(z) for z in zs):
                continue
            for level in at[bisect.bisect_right(at, min(zs)):bisect.bisect_left(at, max(zs))]:
                points = _crossings(corners, level)
                for k in range(0, len(points) - 1, 2):  # a saddle cell crosses four edges: two segments
                    (x1, y1), (x2, y2) = points[k], points[k + 1]
                    out.append((x1, y1, x2, y2, level))
    return out


def _crossings(corners: tuple, level: float) -> list[tuple[float, float]]:
    points = []
    for a, b in zip(corners, corners[1:] + corners[:1]):
        if (a[2] < level) != (b[2] < level):
            t = (level - a[2]) / (b[2] - a[2])
            points.append((a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])))
    return points


def polylines(segs: list[Segment], digits: int = 9) -> list[tuple[float, list[tuple[float, float]]]]:
    """The segments joined end to end into (level, points) pieces: two segments of one level meet
    where they share an end (the same crossing of a cell edge, computed twice)."""
    def key(x: float, y: float, level: float) -> tuple:
        return round(x, digits), round(y, digits), level

    ends: dict[tuple, list[int]] = {}
    for n, (x1, y1, x2, y2, level) in enumerate(segs):
        ends.setdefault(key(x1, y1, level), []).append(n)
        ends.setdefault(key(x2, y2, level), []).append(n)
    used = [False] * len(segs)
    out = []

    def walk(points: list, level: float) -> None:
        """Extend `points` from its last point through unused segments."""
        while True:
            x, y = points[-1]
            nxt = next((m for m in ends.get(key(x, y, level), ()) if not used[m]), None)
            if nxt is None:
                return
            used[nxt] = True
            a, b, c, d, _ = segs[nxt]
            points.append((c, d) if key(a, b, level) == key(x, y, level) else (a, b))

    for n, (x1, y1, x2, y2, level) in enumerate(segs):
        if used[n]:
            continue
        used[n] = True
        points = [(x1, y1), (x2, y2)]
        walk(points, level)
        points.reverse()
        walk(points, level)
        out.append((level, points))
    return out
