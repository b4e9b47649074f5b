"""Admitting writer work: validation, then apps.core.dispatch.enqueue.

The API views and the page forms both call these functions, so both apply
the same checks and the same quotas.
"""

from django.conf import settings

from apps.core.dispatch import enqueue
from apps.core.exceptions import InvalidJobSpec

MAX_TEXT_CHARS = 20_000
MAX_PROMPT_CHARS = 4000
MAX_SECTION_CHARS = 64


def required_text(data, field, maximum=MAX_TEXT_CHARS):
    """Return ``data[field]`` as non-blank text of at most ``maximum`` characters, or raise InvalidJobSpec."""
    value = data.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidJobSpec({field: f"{field} is missing; send the text to work on."})
    if not isinstance(value, str):
        raise InvalidJobSpec({field: f"{field} must be text; got {type(value).__name__}."})
    if len(value) > maximum:
        raise InvalidJobSpec({field: f"{field} is longer than {maximum} characters; send a shorter part."})
    return value


def request_suggestion(user, data):
    """Enqueue suggestions on ``data["text"]``; return the TaskRecord."""
    from .. import tasks

    text = required_text(data, "text")
    section = str(data.get("section") or "")[:MAX_SECTION_CHARS]
    task_input = {"text": text, "section": section, "provider": settings.AI_PROVIDER}
    return enqueue(user, "ai_suggest", tasks.ai_suggest, input=task_input)


def request_generation(user, data):
    """Enqueue a draft written for ``data["prompt"]``; return the TaskRecord."""
    from .. import tasks

    prompt = required_text(data, "prompt", maximum=MAX_PROMPT_CHARS)
    task_input = {"prompt": prompt, "provider": settings.AI_PROVIDER}
    return enqueue(user, "ai_generate", tasks.ai_generate, input=task_input)


def request_compile(user, data):
    """Enqueue a LaTeX compile of ``data["source"]``; return the TaskRecord."""
    from .. import tasks

    source = required_text(data, "source", maximum=settings.LATEX_MAX_SOURCE_CHARS)
    if "\x00" in source:
        raise InvalidJobSpec({"source": "source contains NUL bytes; send plain LaTeX text."})
    return enqueue(user, "latex_compile", tasks.compile_latex, input={"source": source})
