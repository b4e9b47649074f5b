"""Reading a PDF's text, metadata and page count with pypdf.

This module imports nothing from Django, because compute jobs run it
through apps.scholar_app.batch without the project's settings.
"""

from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PyPdfError

MAX_TEXT_CHARS = 20_000
PDF_HEADER = b"%PDF-"
# The PDF specification lets the header start anywhere in the first 1024 bytes.
HEADER_WINDOW = 1024
METADATA_FIELDS = {
    "title": "title",
    "author": "author",
    "subject": "subject",
    "creator": "creator",
    "producer": "producer",
}


class PdfError(Exception):
    """The file is not a PDF that can be read."""


def looks_like_pdf(head):
    """Return whether the first bytes of a file contain the PDF header."""
    return PDF_HEADER in head[:HEADER_WINDOW]


def describe_pdf(path, *, filename=None, max_text_chars=MAX_TEXT_CHARS):
    """Return {"filename", "pages", "metadata", "text", "text_chars", "text_truncated"} for one PDF.

    ``text`` contains at most ``max_text_chars`` characters of the pages' text
    in page order. Raises PdfError for a corrupt or password-protected file.
    """
    filename = filename or Path(path).name
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise PdfError(f"{filename} is protected by a password; upload an unprotected copy.")
        pages = len(reader.pages)
        metadata = _metadata(reader)
        text, total = _text(reader, max_text_chars)
    # pypdf raises these, besides its own errors, on damaged object streams.
    except (PyPdfError, ValueError, KeyError, TypeError, IndexError, AttributeError, OSError) as exc:
        raise PdfError(f"{filename} is not a readable PDF: {exc or exc.__class__.__name__}.") from None
    return {
        "filename": filename,
        "pages": pages,
        "metadata": metadata,
        "text": text,
        "text_chars": total,
        "text_truncated": total > len(text),
    }


def _metadata(reader):
    info = reader.metadata
    if info is None:
        return {}
    values = {key: getattr(info, attribute) for key, attribute in METADATA_FIELDS.items()}
    created = info.creation_date
    values["created"] = created.isoformat() if created else None
    return {key: str(value) for key, value in values.items() if value}


def _text(reader, limit):
    parts = []
    total = 0
    for page in reader.pages:
        page_text = page.extract_text() or ""
        total += len(page_text)
        if sum(map(len, parts)) < limit:
            parts.append(page_text)
    return "\n".join(parts)[:limit], total
