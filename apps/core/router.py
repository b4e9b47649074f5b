"""The tier router: where each kind of work runs.

Every place that dispatches work asks ``route`` first, so the split between
the compute tier (the scheduler), the async tier (Celery) and the
interactive tier (the web request itself) is decided in one place.
"""

import enum

from django.conf import settings


class Tier(str, enum.Enum):
    COMPUTE = "compute"
    ASYNC = "async"
    INTERACTIVE = "interactive"


# Kinds of work and the tier each goes to at size 1.
WORK_TIERS = {
    "script": Tier.COMPUTE,
    "ai_suggest": Tier.ASYNC,
    "ai_generate": Tier.ASYNC,
    "latex_compile": Tier.ASYNC,
    "paper_search": Tier.ASYNC,
    "pdf_process": Tier.ASYNC,
    "metadata": Tier.ASYNC,
    "figure_export": Tier.ASYNC,
    "figure_save": Tier.INTERACTIVE,
    "autosave": Tier.INTERACTIVE,
}
# Kinds whose large batches become one compute job instead of many tasks.
BATCHABLE = {"pdf_process", "figure_export"}


def route(kind, size=1):
    """Return the Tier for ``size`` items of ``kind``; raise ValueError for an unknown kind."""
    try:
        tier = WORK_TIERS[kind]
    except KeyError:
        raise ValueError(f"unknown kind of work {kind!r}; known: {', '.join(sorted(WORK_TIERS))}") from None
    if kind in BATCHABLE and size >= settings.COMPUTE_BATCH_THRESHOLD:
        return Tier.COMPUTE
    return tier
