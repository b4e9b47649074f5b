"""Reading the end of a job's output files without loading them whole."""

import os

TAIL_BLOCK = 64 * 1024
TAIL_MAX_BYTES = 1024 * 1024


def tail_lines(path, lines):
    """Return (text, truncated) for the last ``lines`` lines of ``path``, at most 1 MB."""
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        return "", False
    with handle:
        size = os.fstat(handle.fileno()).st_size
        position = size
        data = b""
        while position > 0 and data.count(b"\n") <= lines and len(data) < TAIL_MAX_BYTES:
            step = min(TAIL_BLOCK, position)
            position -= step
            handle.seek(position)
            data = handle.read(step) + data
    kept = data.split(b"\n")
    ends_with_newline = data.endswith(b"\n")
    if ends_with_newline:
        kept = kept[:-1]
    truncated = position > 0 or len(kept) > lines
    kept = kept[-lines:]
    text = b"\n".join(kept).decode("utf-8", errors="replace")
    if ends_with_newline and kept:
        text += "\n"
    return text, truncated
