"""Saving figures and admitting their exports; the API views and the page forms both call these."""

import json
import secrets

from django.db import transaction

from apps.code_app.services.workspace import user_workspace
from apps.core.dispatch import enqueue
from apps.core.exceptions import InvalidJobSpec
from apps.core.router import Tier, route
from apps.scholar_app.services.batches import enqueue_many, submit_batch_job

from ..models import Figure
from .render import FORMATS
from .specs import clean_name, clean_spec

EXPORT_BATCHES_DIR = "figure-batches"
MAX_BATCH_IDS = 10_000


def parse_spec(value):
    """Return the spec from a JSON object, or from its text as a form sends it."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise InvalidJobSpec({"spec": f"spec is not valid JSON: {exc}."}) from None
    return value


def save_figure(user, data):
    """Validate and store a figure; return it. This is interactive work: no task, no rate kind."""
    name = clean_name(data.get("name"))
    spec = clean_spec(parse_spec(data.get("spec")))
    with transaction.atomic():
        return Figure.objects.create(owner=user, name=name, spec=spec)


def request_export(user, figure, data):
    """Enqueue an export of one of the user's figures; return the TaskRecord."""
    from .. import tasks

    fmt = clean_format(data.get("format"))
    task_input = {"figure_id": figure.pk, "format": fmt}
    return enqueue(user, "figure_export", tasks.export_figure, input=task_input)


def request_batch_export(user, data):
    """Export many figures; return {"tier", "records", "job", "figures"}.

    Fewer than COMPUTE_BATCH_THRESHOLD figures become one task each,
    admitted together; that many or more become one compute job writing to
    figure-batches/<batch>/ in the user's workspace.
    """
    from .. import tasks

    fmt = clean_format(data.get("format"))
    figures = _owned_figures(user, data.get("figure_ids"))
    if route("figure_export", len(figures)) is Tier.COMPUTE:
        return _submit_export_batch(user, figures, fmt)
    inputs = [{"figure_id": figure.pk, "format": fmt} for figure in figures]
    records = enqueue_many(user, "figure_export", tasks.export_figure, inputs)
    return {"tier": Tier.ASYNC.value, "records": records, "job": None, "figures": len(figures)}


def clean_format(value):
    fmt = value or "png"
    if fmt not in FORMATS:
        raise InvalidJobSpec({"format": f"format must be one of {', '.join(FORMATS)}; got {value!r}."})
    return fmt


def _owned_figures(user, ids):
    if not isinstance(ids, list) or not ids or len(ids) > MAX_BATCH_IDS:
        raise InvalidJobSpec({"figure_ids": f"figure_ids must be a list of 1 to {MAX_BATCH_IDS} figure ids."})
    if not all(isinstance(value, int) and not isinstance(value, bool) and 1 <= value < 2**63 for value in ids):
        raise InvalidJobSpec({"figure_ids": "figure_ids must hold figure ids, whole numbers from 1."})
    wanted = list(dict.fromkeys(ids))
    figures = {figure.pk: figure for figure in Figure.objects.filter(owner=user, pk__in=wanted)}
    missing = [value for value in wanted if value not in figures]
    if missing:
        shown = ", ".join(map(str, missing[:10]))
        raise InvalidJobSpec({"figure_ids": f"{len(missing)} of these figures do not exist: {shown}."})
    return [figures[value] for value in wanted]


def _submit_export_batch(user, figures, fmt):
    batch = secrets.token_hex(6)
    folder = user_workspace(user.pk) / EXPORT_BATCHES_DIR / batch
    folder.mkdir(parents=True)
    specs_file = folder / "specs.json"
    specs_file.write_text(json.dumps([{"id": f.pk, "name": f.name, "spec": f.spec} for f in figures]))
    job = submit_batch_job(user, "figure-export-batch", "apps.vis_app.batch", specs_file, folder, fmt)
    return {
        "tier": Tier.COMPUTE.value,
        "records": [],
        "job": job,
        "figures": len(figures),
        "output_dir": f"{EXPORT_BATCHES_DIR}/{batch}/",
    }
