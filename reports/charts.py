"""Charts of the brief as inline SVG: drawn from numbers alone, so WeasyPrint needs no scripts
and the PDF keeps them as vectors."""

from html import escape

FONT = "Noto Sans CJK SC, sans-serif"


def _label(value: int, unit: str) -> str:
    return f"{value:,}{unit}"


def bar_chart(
    rows: list[tuple[str, int]],
    *,
    unit: str = "",
    width: int = 640,
    colour: str = "#0d6efd",
    label_width: int = 150,
    funnel: bool = False,
    scale=None,
) -> str:
    """Horizontal bars, one per (label, value). A funnel centres its bars."""
    if not rows:
        return ""
    bar_height, gap = 22, 8
    height = len(rows) * (bar_height + gap) + gap
    peak = max((value for _, value in rows), default=0) or 1
    room = width - label_width - 90
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="12" role="img">'
    ]
    for index, (label, value) in enumerate(rows):
        y = gap + index * (bar_height + gap)
        length = max(room * value / peak, 1 if value else 0)
        x = label_width + (room - length) / 2 if funnel else label_width
        shown = scale(value) if scale else _label(value, unit)
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{x:.1f}" y="{y}" width="{length:.1f}" height="{bar_height}" fill="{colour}" rx="2"/>'
            f'<text x="{(x + length + 6) if not funnel else label_width + room + 8:.1f}" y="{y + 15}">'
            f"{escape(shown)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def sparkline(values: list[float], *, width: int = 96, height: int = 22, colour: str = "#0d6efd") -> str:
    """A trend as a small line, the last point marked: the 12 weeks of a figure beside its value.
    Flat at the bottom when every value is 0; no axes, the numbers are printed beside it."""
    if not values:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1
    step = (width - 4) / max(len(values) - 1, 1)
    points = [
        (2 + n * step, height - 2 - (value - low) / span * (height - 4)) for n, value in enumerate(values)
    ]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    last_x, last_y = points[-1]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" class="sparkline">'
        f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.5"/>'
        f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2" fill="{colour}"/></svg>'
    )
