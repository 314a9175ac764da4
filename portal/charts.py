"""Charts and the fabric picture as SVG drawn on the server: no script, no library, and
nothing a Content-Security-Policy without inline script or style has to allow."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape

from markupsafe import Markup

COLOURS = ("#1f6feb", "#d2691e", "#2e8b57", "#8a2be2", "#b22222", "#008b8b", "#696969", "#c71585")
Point = tuple[float, float]


def line_chart(
    series: Mapping[str, Sequence[Point]],
    title: str,
    unit: str,
    x_range: tuple[float, float] | None = None,
    width: int = 640,
    height: int = 220,
) -> Markup:
    """Lines of (unix time, value) per named series over `x_range` (default: the data's),
    with time and value axes and a legend below, one series per line."""
    points = [p for s in series.values() for p in s]
    legend_h = 14 * min(len(series), 8)
    height += legend_h
    left, right, top, bottom = 64, 12, 24, 36 + legend_h
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="16" class="chart-title">{escape(title)}</text>',
    ]
    if not points:
        parts.append(f'<text x="{width // 2}" y="{height // 2}" text-anchor="middle">no data yet</text></svg>')
        return Markup("".join(parts))
    x0, x1 = x_range or (min(p[0] for p in points), max(p[0] for p in points))
    y0, y1 = min(0.0, min(p[1] for p in points)), max(p[1] for p in points)
    x1 = x1 if x1 > x0 else x0 + 1
    y1 = y1 if y1 > y0 else y0 + 1
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * plot_w

    def sy(y: float) -> float:
        return top + plot_h - (y - y0) / (y1 - y0) * plot_h

    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#888"/>'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#888"/>'
    )
    for i in range(5):
        y = y0 + (y1 - y0) * i / 4
        parts.append(
            f'<text x="{left - 4}" y="{sy(y) + 4:.1f}" text-anchor="end" class="tick">{escape(_number(y))}</text>'
        )
    for x in (x0, (x0 + x1) / 2, x1):
        stamp = datetime.fromtimestamp(x, UTC).strftime("%m-%d %H:%M")
        anchor = "start" if x == x0 else "end" if x == x1 else "middle"
        parts.append(
            f'<text x="{sx(x):.1f}" y="{top + plot_h + 14}" text-anchor="{anchor}" class="tick">{stamp}</text>'
        )
    parts.append(f'<text x="4" y="{top + 10}" class="tick">{escape(unit)}</text>')
    for i, (name, pts) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        ordered = sorted(pts)
        if len(ordered) == 1:
            x, y = ordered[0]
            parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{colour}"/>')
        else:
            path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in ordered)
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        if i < 8:  # a coloured swatch: CSS colours the text itself
            y = top + plot_h + 32 + 14 * i
            parts.append(
                f'<line x1="{left}" y1="{y - 4}" x2="{left + 16}" y2="{y - 4}" stroke="{colour}" stroke-width="3"/>'
                f'<text x="{left + 22}" y="{y}" class="legend">{escape(name[:60])}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def fabric_picture(
    nodes: Sequence[tuple[str, str, bool]], links: Sequence[tuple[str, str, str, float, bool]], size: int = 560
) -> Markup:
    """Nodes (name, kind, connected) on a circle; links (name, node a, node z, load 0..1,
    seen by LLDP) as lines, thicker and redder with their committed load, dashed when
    LLDP has not seen them."""
    centre, radius = size / 2, size / 2 - 70
    where: dict[str, tuple[float, float]] = {}
    for i, (name, _, _) in enumerate(nodes):
        angle = 2 * math.pi * i / max(1, len(nodes)) - math.pi / 2
        where[name] = (centre + radius * math.cos(angle), centre + radius * math.sin(angle))
    parts = [f'<svg class="fabric" viewBox="0 0 {size} {size}" role="img" aria-label="fabric">']
    for name, a, z, load, seen in links:
        if a not in where or z not in where:
            continue
        (xa, ya), (xz, yz) = where[a], where[z]
        red = min(255, int(255 * load))
        dash = "" if seen else ' stroke-dasharray="6 4"'
        parts.append(
            f'<line x1="{xa:.0f}" y1="{ya:.0f}" x2="{xz:.0f}" y2="{yz:.0f}" stroke="rgb({red},80,{255 - red})" '
            f'stroke-width="{2 + 8 * load:.1f}"{dash}><title>{escape(name)}: {load:.0%} committed'
            f"{'' if seen else ', not seen by LLDP'}</title></line>"
        )
        parts.append(
            f'<text x="{(xa + xz) / 2:.0f}" y="{(ya + yz) / 2 - 4:.0f}" class="tick" text-anchor="middle">'
            f"{load:.0%}</text>"
        )
    for name, kind, connected in nodes:
        x, y = where[name]
        fill = "#2e8b57" if connected else "#b22222"
        shape = (
            f'<rect x="{x - 14:.0f}" y="{y - 14:.0f}" width="28" height="28" fill="{fill}"/>'
            if kind == "router"
            else f'<circle cx="{x:.0f}" cy="{y:.0f}" r="14" fill="{fill}"/>'
        )
        parts.append(
            f"<g>{shape}<title>{escape(name)} ({escape(kind)}, {'connected' if connected else 'not connected'})</title>"
            f'<text x="{x:.0f}" y="{y + 30:.0f}" text-anchor="middle">{escape(name)}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _number(value: float) -> str:
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if abs(value) >= 10_000:
        return f"{value / 1000:.0f}k"
    return f"{value:.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.1f}"
