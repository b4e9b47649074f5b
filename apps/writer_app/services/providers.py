"""AI providers: Anthropic's Messages API and OpenAI's Chat Completions API.

``complete(provider, prompt)`` sends one user message and returns the reply's
text. Key, model, base URL and timeout come from the AI_* settings. The
offline provider has no client here because suggestions.py handles it.
"""

from django.conf import settings

from .upstream import UpstreamError, send

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_BASE_URLS = {
    "anthropic": "https://api.anthropic.com",
    "openai": "https://api.openai.com",
}
# NOTE: model aliases current when this was written; providers retire
# models, so production deployments should pin one with AI_MODEL.
DEFAULT_MODELS = {
    "anthropic": "claude-sonnet-4-5",
    "openai": "gpt-4o-mini",
}
SERVICE_NAMES = {"anthropic": "Anthropic Messages API", "openai": "OpenAI Chat Completions API"}


def model_for(provider):
    return settings.AI_MODEL or DEFAULT_MODELS[provider]


def base_url_for(provider):
    return (settings.AI_BASE_URL or DEFAULT_BASE_URLS[provider]).rstrip("/")


def complete(provider, prompt):
    """Return {"text", "model"} for one prompt; raise UpstreamError or UpstreamRetryable."""
    if provider not in DEFAULT_BASE_URLS:
        raise UpstreamError(f"AI provider {provider!r} is unknown; use anthropic, openai or offline.")
    if not settings.AI_API_KEY:
        raise UpstreamError(f"AI_API_KEY is not set on the worker, so {SERVICE_NAMES[provider]} cannot be called.")
    if provider == "anthropic":
        return _anthropic(prompt)
    return _openai(prompt)


def _anthropic(prompt):
    model = model_for("anthropic")
    response = send(
        "POST",
        f"{base_url_for('anthropic')}/v1/messages",
        service=SERVICE_NAMES["anthropic"],
        timeout=settings.AI_TIMEOUT,
        headers={"x-api-key": settings.AI_API_KEY, "anthropic-version": ANTHROPIC_VERSION},
        json={
            "model": model,
            "max_tokens": settings.AI_MAX_TOKENS,
            "messages": [{"role": "user", "content": prompt}],
        },
    )
    body = _json(response, "anthropic")
    blocks = body.get("content") if isinstance(body, dict) else None
    if not isinstance(blocks, list):
        raise UpstreamError(f"{SERVICE_NAMES['anthropic']} returned a response without a content list.")
    text = "".join(block.get("text", "") for block in blocks if isinstance(block, dict) and block.get("type") == "text")
    return {"text": text.strip(), "model": body.get("model") or model}


def _openai(prompt):
    model = model_for("openai")
    response = send(
        "POST",
        f"{base_url_for('openai')}/v1/chat/completions",
        service=SERVICE_NAMES["openai"],
        timeout=settings.AI_TIMEOUT,
        headers={"Authorization": f"Bearer {settings.AI_API_KEY}"},
        json={
            "model": model,
            "max_tokens": settings.AI_MAX_TOKENS,
            "messages": [{"role": "user", "content": prompt}],
        },
    )
    body = _json(response, "openai")
    try:
        text = body["choices"][0]["message"]["content"] or ""
    except (KeyError, IndexError, TypeError):
        raise UpstreamError(f"{SERVICE_NAMES['openai']} returned a response without choices[0].message.content.") from None
    return {"text": text.strip(), "model": body.get("model") or model}


def _json(response, provider):
    try:
        return response.json()
    except ValueError:
        raise UpstreamError(f"{SERVICE_NAMES[provider]} returned a body that is not JSON.") from None
