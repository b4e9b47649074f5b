"""Rendering a figure spec to PNG, SVG or PDF with matplotlib's Agg backend.

It uses matplotlib's object API (no pyplot), so renders in one process
share no global figure state. This module imports nothing from Django,
because compute jobs run it through apps.vis_app.batch.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

FORMATS = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}
SIZE_INCHES = (6.4, 4.0)
DPI = 100
BAR_GROUP_WIDTH = 0.8


def render(spec, path, fmt):
    """Write the figure of a validated ``spec`` to ``path`` as ``fmt``; return the file's size in bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    figure = Figure(figsize=SIZE_INCHES, dpi=DPI)
    axes = figure.add_subplot()
    series_list = spec["series"]
    for index, series in enumerate(series_list):
        label = series.get("label") or None
        if spec["kind"] == "line":
            axes.plot(series["x"], series["y"], marker="o", label=label)
        elif spec["kind"] == "scatter":
            axes.scatter(series["x"], series["y"], label=label)
        else:
            width, offset = _bar_geometry(series_list, index)
            axes.bar([x + offset for x in series["x"]], series["y"], width=width, label=label)
    axes.set_title(spec.get("title", ""))
    axes.set_xlabel(spec.get("x_label", ""))
    axes.set_ylabel(spec.get("y_label", ""))
    if any(series.get("label") for series in series_list):
        axes.legend()
    axes.grid(True, alpha=0.3)
    # No creation date in the file, so the same spec gives the same bytes.
    metadata = None
    if fmt == "svg":
        metadata = {"Date": None}
    elif fmt == "pdf":
        metadata = {"CreationDate": None}
    figure.savefig(path, format=fmt, metadata=metadata, bbox_inches="tight")
    return Path(path).stat().st_size


def _bar_geometry(series_list, index):
    """Return (width, offset) that puts the bars of several series side by side around each x."""
    xs = sorted({x for series in series_list for x in series["x"]})
    gaps = [later - earlier for earlier, later in zip(xs, xs[1:]) if later > earlier]
    step = min(gaps) if gaps else 1.0
    width = BAR_GROUP_WIDTH * step / len(series_list)
    offset = (index - (len(series_list) - 1) / 2) * width
    return width, offset
