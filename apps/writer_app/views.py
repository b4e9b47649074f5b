from rest_framework import status
from rest_framework.response import Response

from apps.core.api import PlatformAPIView
from apps.core.dispatch import enqueue, task_payload
from apps.core.exceptions import InvalidJobSpec

from . import tasks

MAX_TEXT_CHARS = 20_000


def required_text(data, field, maximum=MAX_TEXT_CHARS):
    value = data.get(field)
    if not isinstance(value, str) or not value.strip():
        raise InvalidJobSpec({field: f"{field} is missing; send the text to work on."})
    if len(value) > maximum:
        raise InvalidJobSpec({field: f"{field} is longer than {maximum} characters; send a shorter part."})
    return value


def accepted(record):
    return Response(task_payload(record), status=status.HTTP_202_ACCEPTED)


class SuggestView(PlatformAPIView):
    def post(self, request):
        text = required_text(request.data, "text")
        section = str(request.data.get("section", ""))[:64]
        return accepted(enqueue(request.user, "ai_suggest", tasks.ai_suggest, input={"text": text, "section": section}))


class GenerateView(PlatformAPIView):
    def post(self, request):
        prompt = required_text(request.data, "prompt", maximum=4000)
        return accepted(enqueue(request.user, "ai_generate", tasks.ai_generate, input={"prompt": prompt}))
