"""Writing help: suggestions on a passage and drafts from a prompt.

The provider is "offline", "anthropic" or "openai". The offline provider
calls no service: it returns rule-based text labelled as offline, so the
platform runs without an API key.
"""

import re

from . import providers

OFFLINE_LABEL = "offline provider: rule-based text, no AI service was called"
MAX_SUGGESTIONS = 5
_LIST_MARKER = re.compile(r"^\s*(?:[-*\u2022]|\d{1,2}[.)])\s*")


def suggest(text, section="", provider="offline"):
    """Return {"provider", "label", "section", "suggestions": [...]} for a passage."""
    if provider == "offline":
        return {"provider": "offline", "label": OFFLINE_LABEL, "section": section, "suggestions": offline_tips(text)}

    where = f" from the {section} section" if section else ""
    prompt = (
        f"Suggest at most three specific improvements to the following passage{where} of a research paper. "
        "Write each suggestion on its own line, without numbering or other text.\n\n"
        f"{text}"
    )
    reply = providers.complete(provider, prompt)
    lines = [_LIST_MARKER.sub("", line).strip() for line in reply["text"].splitlines()]
    return {
        "provider": provider,
        "model": reply["model"],
        "label": f"{provider} model {reply['model']}",
        "section": section,
        "suggestions": [line for line in lines if line][:MAX_SUGGESTIONS],
    }


def generate(prompt, provider="offline"):
    """Return {"provider", "label", "text"} with a draft written for ``prompt``."""
    if provider == "offline":
        return {"provider": "offline", "label": OFFLINE_LABEL, "text": f"Draft on: {prompt.strip()[:200]}"}

    request = f"Write a draft for a research paper as requested below. Answer with the draft only.\n\n{prompt}"
    reply = providers.complete(provider, request)
    return {
        "provider": provider,
        "model": reply["model"],
        "label": f"{provider} model {reply['model']}",
        "text": reply["text"],
    }


def offline_tips(text):
    sentences = [part.strip() for part in text.replace("\n", " ").split(".") if part.strip()]
    longest = max(sentences, key=len) if sentences else ""
    tips = []
    if longest and len(longest.split()) > 25:
        tips.append(f"Split the longest sentence ({len(longest.split())} words) in two.")
    if " very " in f" {text.lower()} ":
        tips.append("Replace 'very' with a more precise word.")
    if not tips:
        tips.append("The text reads clearly; consider adding a concrete number or example.")
    return tips
