"""Charts drawn as SVG on the server: no JavaScript library, no network, printable.

Each chart is one ``<svg role="img">`` named by its ``<title>`` and described by its
``<desc>`` (``aria-labelledby``), with axis titles and tick labels as text. Screen readers
read that name and description; the numbers themselves are in the data table that every
template puts right after the chart. Every text is passed in already translated and every
number already formatted (flask_babel), so a chart speaks the page's language.

Colours keep at least 4.5:1 against white, and series differ by more than colour (line
dashes and marker shapes; bars are always labelled by the legend and the table).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 720
HEIGHT = 320
PALETTE = ("#0b4f6c", "#b3410e", "#216e1f", "#54278f")
DASHES = ("", "6 4", "2 3", "10 3 2 3")
TEXT = "#1b1b1b"
AXIS = "#565c65"
GRID = "#dfe1e2"
FONT_SIZE = 12
MAX_X_LABELS = 13


@dataclass(frozen=True)
class Series:
    """One named row of values (None: no value for that category)."""

    name: str
    values: Sequence[float | None]


Formatter = Callable[[float], str]


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def nice_ticks(largest: float, count: int = 5, integer: bool = True) -> list[float]:
    """Round tick values from 0 to at least ``largest``: steps of 1, 2 or 5 × 10^k."""
    if largest <= 0:
        return [0.0, 1.0]
    raw = largest / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    if integer:
        step = max(step, 1.0)
    top = math.ceil(largest / step - 1e-9) * step
    return [round(i * step, 12) for i in range(round(top / step) + 1)]


def _svg_open(chart_id: str, title: str, description: str, height: int) -> list[str]:
    return [
        f'<svg class="guichet-chart" id="{escape(chart_id)}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMidYMid meet" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="{FONT_SIZE}">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>',
    ]


def _text(x: float, y: float, content: str, anchor: str = "middle", **attributes: str) -> str:
    extra = "".join(
        f' {name.replace("_", "-")}="{escape(value)}"' for name, value in attributes.items()
    )
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" fill="{TEXT}"{extra}>'
        f"{escape(content)}</text>"
    )


def _legend(series: Sequence[Series], left: float, y: float, lines: bool) -> list[str]:
    parts = []
    x = left
    for index, item in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        if lines:
            parts.append(
                f'<line x1="{_n(x)}" y1="{_n(y - 4)}" x2="{_n(x + 24)}" y2="{_n(y - 4)}" '
                f'stroke="{colour}" stroke-width="3" stroke-dasharray="{DASHES[index % 4]}"/>'
            )
            parts.append(_marker(index, x + 12, y - 4, colour))
            x += 30
        else:
            parts.append(
                f'<rect x="{_n(x)}" y="{_n(y - 11)}" width="14" height="14" fill="{colour}"/>'
            )
            x += 20
        parts.append(_text(x, y, item.name, anchor="start"))
        x += 14 + 7 * len(item.name)
    return parts


def _marker(index: int, x: float, y: float, colour: str) -> str:
    """A different shape per series: circle, square, triangle, diamond."""
    shape = index % 4
    if shape == 0:
        return f'<circle cx="{_n(x)}" cy="{_n(y)}" r="3.5" fill="{colour}"/>'
    if shape == 1:
        return f'<rect x="{_n(x - 3.5)}" y="{_n(y - 3.5)}" width="7" height="7" fill="{colour}"/>'
    if shape == 2:
        points = f"{_n(x)},{_n(y - 4.5)} {_n(x + 4.5)},{_n(y + 3.5)} {_n(x - 4.5)},{_n(y + 3.5)}"
        return f'<polygon points="{points}" fill="{colour}"/>'
    points = f"{_n(x)},{_n(y - 5)} {_n(x + 5)},{_n(y)} {_n(x)},{_n(y + 5)} {_n(x - 5)},{_n(y)}"
    return f'<polygon points="{points}" fill="{colour}"/>'


def _frame(
    categories: Sequence[str],
    ticks: Sequence[float],
    value_format: Formatter,
    x_label: str,
    y_label: str,
    plot: tuple[float, float, float, float],
) -> list[str]:
    """Grid lines with their tick labels, the axes, the category labels, axis titles."""
    left, top, right, bottom = plot
    parts = []
    for tick in ticks:
        y = bottom - (bottom - top) * tick / ticks[-1]
        parts.append(
            f'<line x1="{_n(left)}" y1="{_n(y)}" x2="{_n(right)}" y2="{_n(y)}" stroke="{GRID}"/>'
        )
        parts.append(_text(left - 6, y + 4, value_format(tick), anchor="end"))
    parts.append(
        f'<line x1="{_n(left)}" y1="{_n(bottom)}" x2="{_n(right)}" y2="{_n(bottom)}" '
        f'stroke="{AXIS}"/>'
    )
    parts.append(
        f'<line x1="{_n(left)}" y1="{_n(top)}" x2="{_n(left)}" y2="{_n(bottom)}" stroke="{AXIS}"/>'
    )
    band = (right - left) / max(len(categories), 1)
    every = max(1, math.ceil(len(categories) / MAX_X_LABELS))
    for index, category in enumerate(categories):
        if index % every == 0:
            parts.append(_text(left + band * (index + 0.5), bottom + 16, category))
    parts.append(_text((left + right) / 2, bottom + 38, x_label))
    parts.append(
        _text(
            14,
            (top + bottom) / 2,
            y_label,
            transform=f"rotate(-90 14 {_n((top + bottom) / 2)})",
        )
    )
    return parts


def _plot_area(series_count: int) -> tuple[float, float, float, float]:
    top = 36.0 if series_count > 1 else 14.0
    return 72.0, top, WIDTH - 16.0, HEIGHT - 52.0


def _largest(series: Sequence[Series]) -> float:
    return max((v for item in series for v in item.values if v is not None), default=0.0)


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    value_format: Formatter,
    integer: bool = True,
) -> Markup:
    """Vertical bars, one group per category and one bar per series."""
    plot = _plot_area(len(series))
    left, top, right, bottom = plot
    ticks = nice_ticks(_largest(series), integer=integer)
    parts = _svg_open(chart_id, title, description, HEIGHT)
    parts += _frame(categories, ticks, value_format, x_label, y_label, plot)
    band = (right - left) / max(len(categories), 1)
    width = band * 0.8 / max(len(series), 1)
    for s_index, item in enumerate(series):
        colour = PALETTE[s_index % len(PALETTE)]
        for c_index, value in enumerate(item.values):
            if value is None:
                continue
            height = (bottom - top) * value / ticks[-1]
            x = left + band * c_index + band * 0.1 + width * s_index
            parts.append(
                f'<rect x="{_n(x)}" y="{_n(bottom - height)}" width="{_n(width)}" '
                f'height="{_n(height)}" fill="{colour}"/>'
            )
    if len(series) > 1:
        parts += _legend(series, left, 20, lines=False)
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    value_format: Formatter,
    integer: bool = True,
    top_value: float | None = None,
) -> Markup:
    """Lines with a marker on each value; a missing value breaks the line. ``top_value``
    fixes the scale (1 for a rate)."""
    plot = _plot_area(len(series))
    left, top, right, bottom = plot
    ticks = nice_ticks(top_value or _largest(series), integer=integer)
    parts = _svg_open(chart_id, title, description, HEIGHT)
    parts += _frame(categories, ticks, value_format, x_label, y_label, plot)
    band = (right - left) / max(len(categories), 1)
    for s_index, item in enumerate(series):
        colour = PALETTE[s_index % len(PALETTE)]
        segments: list[list[tuple[float, float]]] = [[]]
        for c_index, value in enumerate(item.values):
            if value is None:
                segments.append([])
                continue
            point = (left + band * (c_index + 0.5), bottom - (bottom - top) * value / ticks[-1])
            segments[-1].append(point)
        for segment in segments:
            if len(segment) > 1:
                points = " ".join(f"{_n(x)},{_n(y)}" for x, y in segment)
                parts.append(
                    f'<polyline points="{points}" fill="none" stroke="{colour}" '
                    f'stroke-width="2.5" stroke-dasharray="{DASHES[s_index % 4]}"/>'
                )
            parts += [_marker(s_index, x, y, colour) for x, y in segment]
    if len(series) > 1:
        parts += _legend(series, left, 20, lines=True)
    parts.append("</svg>")
    return Markup("".join(parts))


def horizontal_bar_chart(
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    values: Sequence[float],
    *,
    value_format: Formatter,
) -> Markup:
    """One labelled horizontal bar per category, its value written at its end: for
    categories with long names (kinds of administration, decisions, the funnel)."""
    row = 34
    label_width = 250.0
    height = 16 + row * len(categories)
    largest = max(values, default=0) or 1
    usable = WIDTH - label_width - 90
    parts = _svg_open(chart_id, title, description, height)
    for index, (category, value) in enumerate(zip(categories, values, strict=True)):
        y = 8 + row * index
        length = usable * value / largest
        parts.append(_text(label_width - 8, y + 17, category, anchor="end"))
        parts.append(
            f'<rect x="{_n(label_width)}" y="{_n(y + 4)}" width="{_n(length)}" height="20" '
            f'fill="{PALETTE[0]}"/>'
        )
        parts.append(_text(label_width + length + 6, y + 18, value_format(value), anchor="start"))
    parts.append(
        f'<line x1="{_n(label_width)}" y1="4" x2="{_n(label_width)}" y2="{_n(height - 4)}" '
        f'stroke="{AXIS}"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))
