"""Read every PDF in a folder and write one JSON file of results: the body of a PDF batch job.

Run as ``python -m apps.scholar_app.batch INPUT_DIR OUTPUT_FILE`` by the
script that apps.scholar_app.services.batches generates. It imports nothing
from Django, so it needs only pypdf on the compute node. A PDF that cannot
be read gets an "error" entry; the job still exits 0 once every file was
tried, and prints how many failed.
"""

import json
import os
import sys
from pathlib import Path

from apps.scholar_app.services.pdf import PdfError, describe_pdf


def run(input_dir, output_file):
    results = []
    for path in sorted(Path(input_dir).glob("*.pdf")):
        try:
            results.append(describe_pdf(path))
        except PdfError as exc:
            results.append({"filename": path.name, "error": str(exc)})
    failed = sum(1 for result in results if "error" in result)

    temporary = Path(f"{output_file}.tmp")
    temporary.write_text(json.dumps({"files": len(results), "failed": failed, "results": results}))
    os.replace(temporary, output_file)
    print(f"processed {len(results)} PDFs: {len(results) - failed} read, {failed} failed; results in {output_file}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m apps.scholar_app.batch INPUT_DIR OUTPUT_FILE")
    sys.exit(run(sys.argv[1], sys.argv[2]))
