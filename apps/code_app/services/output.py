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


def job_output_tail(job, lines):
    """Return {"stdout", "stdout_truncated", "stderr", "stderr_truncated"} for the job's last ``lines`` lines.

    A job may replace its output files with links; a link out of the
    workspace reads as empty output.
    """
    from .workspace import job_output_dir, resolve_inside, user_workspace

    workspace = user_workspace(job.owner_id)
    folder = job_output_dir(job)
    body = {}
    for stream in ("stdout", "stderr"):
        path = resolve_inside(workspace, (folder / f"{stream}.txt").relative_to(workspace))
        text, truncated = tail_lines(path, lines) if path else ("", False)
        body[stream] = text
        body[f"{stream}_truncated"] = truncated
    return body
