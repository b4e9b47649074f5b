"""Anthropic's Messages API and OpenAI's Chat Completions API on one local server.

Replies follow the providers' documented shapes: POST /v1/messages needs
x-api-key and anthropic-version: 2023-06-01 and returns content[].text;
POST /v1/chat/completions needs Authorization: Bearer and returns
choices[0].message.content. Errors use each provider's error object.
"""

from .server import FakeService, Reply

API_KEY = "test-key-not-secret"
SUGGESTIONS = "1. Name the scheduler you compare against.\n2. Give the share of each user as a number."
STATUS_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    529: "overloaded_error",
}


def reply_text(prompt):
    if "Suggest at most three" in prompt:
        return SUGGESTIONS
    return "A fake draft about " + prompt.rsplit("\n", 1)[-1][:60]


def answer(request):
    if request.method != "POST":
        return error_reply(404)
    if request.path == "/v1/messages":
        return _anthropic(request)
    if request.path == "/v1/chat/completions":
        return _openai(request)
    return error_reply(404)


def _anthropic(request):
    if request.headers.get("x-api-key") != API_KEY:
        return _anthropic_error(401, "invalid x-api-key")
    if request.headers.get("anthropic-version") != "2023-06-01":
        return _anthropic_error(400, "anthropic-version header is missing or unknown")
    body = request.json()
    if not all(key in body for key in ("model", "max_tokens", "messages")):
        return _anthropic_error(400, "model, max_tokens and messages are required")
    text = reply_text(body["messages"][-1]["content"])
    return Reply.json(
        200,
        {
            "id": "msg_fake_01",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 12, "output_tokens": 20},
        },
    )


def _openai(request):
    if request.headers.get("authorization") != f"Bearer {API_KEY}":
        return Reply.json(401, {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error", "code": "invalid_api_key"}})
    body = request.json()
    text = reply_text(body["messages"][-1]["content"])
    return Reply.json(
        200,
        {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 1700000000,
            "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 20, "total_tokens": 32},
        },
    )


def _anthropic_error(status, message):
    kind = STATUS_TYPES.get(status, "api_error")
    return Reply.json(status, {"type": "error", "error": {"type": kind, "message": message}})


def error_reply(status):
    """Anthropic's error object; OpenAI clients read error.type and error.message from it the same way."""
    return _anthropic_error(status, f"fake {STATUS_TYPES.get(status, 'api_error')}")


def make_server():
    return FakeService("ai", answer, error_reply)
