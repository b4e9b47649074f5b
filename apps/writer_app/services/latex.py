"""Compiling LaTeX to PDF with latexmk, or pdflatex where latexmk is missing.

The engine runs in a new temporary directory with shell escape off,
nonstop interaction, halt on the first error and a timeout. TeX's
openin_any and openout_any are set to "p" (paranoid), so the document cannot
read or write files by absolute path or through "..". The PDF and the log are
then copied into the user's workspace under ``latex/<name>/``.
"""

import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)

ENGINE_FLAGS = ["-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error"]
LOG_TAIL_LINES = 40
_CONTEXT_LINE = re.compile(r"^l\.\d+")


class LatexError(Exception):
    """The document did not compile; the message names the log's error line."""


def engine_command():
    """Return the argument list that compiles main.tex, or None when no engine is installed."""
    if shutil.which("latexmk") and shutil.which("pdflatex"):
        # -norc: no latexmkrc from the host or the user changes the flags.
        return ["latexmk", "-norc", "-pdf", *ENGINE_FLAGS, "main.tex"]
    if shutil.which("pdflatex"):
        return ["pdflatex", *ENGINE_FLAGS, "main.tex"]
    return None


def compile_document(source, workspace, name, *, timeout):
    """Compile ``source`` and store main.pdf and main.log in ``workspace``/latex/``name``/.

    Returns {"engine", "pdf_path", "pdf_bytes", "log_path", "log_tail"} with
    paths relative to the workspace. Raises LatexError when no engine is
    installed, the engine times out, or the document has an error.
    """
    command = engine_command()
    if command is None:
        raise LatexError(
            "No LaTeX engine is installed on the worker; install latexmk and pdflatex "
            "(Debian: texlive-latex-base latexmk)."
        )
    target = Path(workspace) / "latex" / name
    target.mkdir(parents=True, exist_ok=True)
    relative = Path("latex") / name

    with tempfile.TemporaryDirectory(prefix="latex-") as folder:
        folder = Path(folder)
        (folder / "main.tex").write_text(source, encoding="utf-8")
        returncode = _run(command, folder, timeout)
        if command[0] == "pdflatex" and returncode == 0 and "Rerun to get" in _read_log(folder):
            returncode = _run(command, folder, timeout)
        log = _read_log(folder)
        (target / "main.log").write_text(log, encoding="utf-8")
        pdf = folder / "main.pdf"
        if returncode != 0 or not pdf.exists():
            raise LatexError(_failure_message(log, returncode, relative / "main.log"))
        shutil.copyfile(pdf, target / "main.pdf")

    return {
        "engine": command[0],
        "pdf_path": str(relative / "main.pdf"),
        "pdf_bytes": (target / "main.pdf").stat().st_size,
        "log_path": str(relative / "main.log"),
        "log_tail": "\n".join(log.splitlines()[-LOG_TAIL_LINES:]),
    }


def first_error(log):
    """Return (error line, context line) of the log's first TeX error, e.g.
    ("! Undefined control sequence.", "l.5 \\badcommand"), or None."""
    lines = log.splitlines()
    for index, line in enumerate(lines):
        if not line.startswith("! "):
            continue
        context = next((later.strip() for later in lines[index + 1 : index + 20] if _CONTEXT_LINE.match(later)), "")
        return line.strip(), context
    return None


def _run(command, folder, timeout):
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(folder),
        "LANG": "C.UTF-8",
        "openin_any": "p",
        "openout_any": "p",
        # Keeps TeX from wrapping log lines at 79 characters.
        "max_print_line": "1000",
    }
    process = subprocess.Popen(
        command, cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        # latexmk starts pdflatex as a child, so the whole session goes.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise LatexError(f"LaTeX compile timed out after {timeout} s; shorten the document or fix a loop.") from None


def _read_log(folder):
    path = folder / "main.log"
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def _failure_message(log, returncode, log_path):
    error = first_error(log)
    if error is None:
        return (
            f"LaTeX compile failed with exit code {returncode} and no error line in the log; "
            f"see the full log at {log_path} in your workspace."
        )
    line, context = error
    where = f" ({context})" if context else ""
    return f"LaTeX compile failed: {line}{where}. The full log is {log_path} in your workspace."
