"""Charts drawn on the server as inline SVG, so pages need no chart library.

Every function returns markup marked safe; the only text in it is numbers and
labels passed through ``escape``.
"""

from datetime import datetime
from datetime import timezone as dt_timezone

from django.utils.html import escape
from django.utils.safestring import mark_safe

WIDTH = 640
LEFT, RIGHT, TOP = 44, 10, 20
CPU_HEIGHT = 96
BAR_TOP = TOP + CPU_HEIGHT + 26
BAR_HEIGHT = 64
HEIGHT = BAR_TOP + BAR_HEIGHT + 22
COLOURS = {"cpus": "#2c5cc5", "admitted": "#8fb0e8", "rejected": "#a3231c", "axis": "#687082", "grid": "#dde1e8"}


def _time_label(start):
    if not isinstance(start, datetime):
        start = datetime.fromtimestamp(start, tz=dt_timezone.utc)
    return start.astimezone(dt_timezone.utc).strftime("%H:%M")


def _nice_maximum(value):
    """Return a round axis maximum at least ``value`` (1, 2, 5 times a power of ten)."""
    if value <= 0:
        return 1
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _format(value):
    return f"{value:g}" if value < 10 else f"{value:.0f}"


def usage_chart(points, *, title, chart_id):
    """Draw CPUs in use (line) above admissions and rejections (stacked bars) per bucket.

    ``points`` are dicts with ``start`` (a datetime or epoch seconds),
    ``cpus``, ``admitted`` and ``rejected``, oldest first.
    """
    count = max(len(points), 1)
    plot_width = WIDTH - LEFT - RIGHT
    step = plot_width / count
    cpu_max = _nice_maximum(max((point["cpus"] for point in points), default=0))
    count_max = _nice_maximum(max((point["admitted"] + point["rejected"] for point in points), default=0))

    parts = [
        f'<svg id="{escape(chart_id)}" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    parts += _axes(cpu_max, count_max)
    parts += _cpu_line(points, step, cpu_max)
    parts += _bars(points, step, count_max)
    parts += _time_labels(points, step)
    parts.append("</svg>")
    return mark_safe("".join(parts))


def _axes(cpu_max, count_max):
    axis, grid = COLOURS["axis"], COLOURS["grid"]
    right = WIDTH - RIGHT
    return [
        f'<text x="{LEFT}" y="{TOP - 6}" fill="{axis}" font-size="11">CPUs in use (average)</text>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{right}" y2="{TOP}" stroke="{grid}"/>',
        f'<line x1="{LEFT}" y1="{TOP + CPU_HEIGHT}" x2="{right}" y2="{TOP + CPU_HEIGHT}" stroke="{axis}"/>',
        f'<text x="{LEFT - 4}" y="{TOP + 4}" fill="{axis}" font-size="10" text-anchor="end">{_format(cpu_max)}</text>',
        f'<text x="{LEFT - 4}" y="{TOP + CPU_HEIGHT}" fill="{axis}" font-size="10" text-anchor="end">0</text>',
        f'<text x="{LEFT}" y="{BAR_TOP - 6}" fill="{axis}" font-size="11">'
        f'<tspan fill="{COLOURS["admitted"]}">■</tspan> admitted '
        f'<tspan fill="{COLOURS["rejected"]}">■</tspan> rejected</text>',
        f'<line x1="{LEFT}" y1="{BAR_TOP}" x2="{right}" y2="{BAR_TOP}" stroke="{grid}"/>',
        f'<line x1="{LEFT}" y1="{BAR_TOP + BAR_HEIGHT}" x2="{right}" y2="{BAR_TOP + BAR_HEIGHT}" stroke="{axis}"/>',
        f'<text x="{LEFT - 4}" y="{BAR_TOP + 4}" fill="{axis}" font-size="10" text-anchor="end">{count_max}</text>',
        f'<text x="{LEFT - 4}" y="{BAR_TOP + BAR_HEIGHT}" fill="{axis}" font-size="10" text-anchor="end">0</text>',
    ]


def _cpu_line(points, step, cpu_max):
    if not points:
        return []
    coordinates = []
    for index, point in enumerate(points):
        x = LEFT + step * (index + 0.5)
        y = TOP + CPU_HEIGHT - CPU_HEIGHT * point["cpus"] / cpu_max
        coordinates.append(f"{x:.1f},{y:.1f}")
    first_x = LEFT + step * 0.5
    last_x = LEFT + step * (len(points) - 0.5)
    base = TOP + CPU_HEIGHT
    area = f"{first_x:.1f},{base} " + " ".join(coordinates) + f" {last_x:.1f},{base}"
    colour = COLOURS["cpus"]
    return [
        f'<polygon class="cpus-area" points="{area}" fill="{colour}" fill-opacity="0.12"/>',
        f'<polyline class="cpus" points="{" ".join(coordinates)}" fill="none" stroke="{colour}" stroke-width="1.5"/>',
    ]


def _bars(points, step, count_max):
    parts = []
    width = max(step * 0.7, 1.0)
    base = BAR_TOP + BAR_HEIGHT
    for index, point in enumerate(points):
        x = LEFT + step * index + (step - width) / 2
        admitted = BAR_HEIGHT * point["admitted"] / count_max
        rejected = BAR_HEIGHT * point["rejected"] / count_max
        label = f'{_time_label(point["start"])}: {point["admitted"]} admitted, {point["rejected"]} rejected'
        parts.append(f"<g><title>{escape(label)}</title>")
        if admitted:
            parts.append(
                f'<rect class="admitted" x="{x:.1f}" y="{base - admitted:.1f}" width="{width:.1f}" '
                f'height="{admitted:.1f}" fill="{COLOURS["admitted"]}"/>'
            )
        if rejected:
            parts.append(
                f'<rect class="rejected" x="{x:.1f}" y="{base - admitted - rejected:.1f}" width="{width:.1f}" '
                f'height="{rejected:.1f}" fill="{COLOURS["rejected"]}"/>'
            )
        parts.append("</g>")
    return parts


def _time_labels(points, step):
    if not points:
        return []
    y = HEIGHT - 6
    axis = COLOURS["axis"]
    parts = []
    for index in sorted({0, len(points) // 2, len(points) - 1}):
        x = LEFT + step * (index + 0.5)
        parts.append(
            f'<text x="{x:.1f}" y="{y}" fill="{axis}" font-size="10" text-anchor="middle">'
            f'{_time_label(points[index]["start"])}</text>'
        )
    return parts


def sparkline(values, *, title, width=160, height=36, low=0.0, high=1.0):
    """Draw ``values`` (None leaves a gap) on a fixed [low, high] scale, marking the last value."""
    pad = 3
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    span = (high - low) or 1.0
    segments, current = [], []
    last = None
    for index, value in enumerate(values):
        if value is None:
            if current:
                segments.append(current)
            current = []
            continue
        x = pad + step * index
        y = pad + (height - 2 * pad) * (1 - (min(max(value, low), high) - low) / span)
        current.append(f"{x:.1f},{y:.1f}")
        last = (x, y)
    if current:
        segments.append(current)

    shown = ", ".join("–" if value is None else f"{value:.2f}" for value in values)
    parts = [
        f'<svg class="sparkline" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}: {escape(shown)}</title>",
        f'<line x1="0" y1="{pad}" x2="{width}" y2="{pad}" stroke="{COLOURS["grid"]}" stroke-dasharray="2 2"/>',
    ]
    for segment in segments:
        parts.append(
            f'<polyline points="{" ".join(segment)}" fill="none" stroke="{COLOURS["cpus"]}" stroke-width="1.5"/>'
        )
    if last is not None:
        parts.append(f'<circle cx="{last[0]:.1f}" cy="{last[1]:.1f}" r="2.5" fill="{COLOURS["cpus"]}"/>')
    parts.append("</svg>")
    return mark_safe("".join(parts))
