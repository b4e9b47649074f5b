"""Request parsers that turn malformed or oversized bodies into clear 400 and 413 responses."""

from django.core.exceptions import RequestDataTooBig
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


def too_large():
    from django.conf import settings

    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return RequestTooLarge(
        f"The request body is larger than {limit} bytes; upload large scripts and PDFs as files (multipart)."
    )


class ObjectJSONParser(parsers.JSONParser):
    """JSON bodies must be one object: every endpoint reads named fields from it."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RequestDataTooBig:
            raise too_large() from None
        if not isinstance(data, dict):
            raise ParseError(f"The request body must be a JSON object of fields; got a JSON {type(data).__name__}.")
        return data


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RequestDataTooBig:
            raise too_large() from None


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RequestDataTooBig:
            raise too_large() from None
