"""Validation of figure specs.

A spec is {"kind": "line" | "bar" | "scatter", "title": str, "x_label": str,
"y_label": str, "series": [{"label": str, "x": [numbers], "y": [numbers]}]}.
Errors name the field by its path, e.g. ``spec.series.0.y``.
"""

import math

from apps.core.exceptions import InvalidJobSpec

KINDS = ("line", "bar", "scatter")
MAX_SERIES = 20
MAX_POINTS = 10_000
MAX_TEXT_CHARS = 200
MAX_NAME_CHARS = 100


def clean_name(value):
    if not isinstance(value, str) or not value.strip():
        raise InvalidJobSpec({"name": "name is missing; give the figure a name."})
    if len(value.strip()) > MAX_NAME_CHARS:
        raise InvalidJobSpec({"name": f"name is longer than {MAX_NAME_CHARS} characters."})
    return value.strip()


def clean_spec(spec):
    """Return the spec with only the known fields, or raise InvalidJobSpec naming the first bad one."""
    if not isinstance(spec, dict):
        raise InvalidJobSpec({"spec": "spec must be a JSON object with kind, title, x_label, y_label and series."})
    kind = spec.get("kind")
    if kind not in KINDS:
        raise InvalidJobSpec({"spec.kind": f"spec.kind must be one of {', '.join(KINDS)}; got {kind!r}."})
    cleaned = {"kind": kind}
    for field in ("title", "x_label", "y_label"):
        cleaned[field] = _clean_text(spec.get(field, ""), f"spec.{field}")
    series = spec.get("series")
    if not isinstance(series, list) or not 1 <= len(series) <= MAX_SERIES:
        raise InvalidJobSpec({"spec.series": f"spec.series must be a list of 1 to {MAX_SERIES} series."})
    cleaned["series"] = [_clean_series(item, f"spec.series.{index}") for index, item in enumerate(series)]
    return cleaned


def _clean_text(value, field):
    if not isinstance(value, str):
        raise InvalidJobSpec({field: f"{field} must be text."})
    if len(value) > MAX_TEXT_CHARS:
        raise InvalidJobSpec({field: f"{field} is longer than {MAX_TEXT_CHARS} characters."})
    return value


def _clean_series(series, field):
    if not isinstance(series, dict):
        raise InvalidJobSpec({field: f"{field} must be an object with label, x and y."})
    x = _clean_numbers(series.get("x"), f"{field}.x")
    y = _clean_numbers(series.get("y"), f"{field}.y")
    if len(x) != len(y):
        raise InvalidJobSpec({field: f"{field} has {len(x)} x values but {len(y)} y values; give one y per x."})
    return {"label": _clean_text(series.get("label", ""), f"{field}.label"), "x": x, "y": y}


def _clean_numbers(values, field):
    if not isinstance(values, list) or not 1 <= len(values) <= MAX_POINTS:
        raise InvalidJobSpec({field: f"{field} must be a list of 1 to {MAX_POINTS} numbers."})
    for index, value in enumerate(values):
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not is_number or not math.isfinite(value):
            raise InvalidJobSpec({field: f"{field}[{index}] must be a finite number; got {value!r}."})
    return values
