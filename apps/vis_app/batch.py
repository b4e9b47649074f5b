"""Render many figure specs into one folder: the body of a figure export batch job.

Run as ``python -m apps.vis_app.batch SPECS_FILE OUTPUT_DIR FORMAT`` by the
script that apps.scholar_app.services.batches generates. SPECS_FILE is a
JSON list of {"id", "name", "spec"}; each figure is written as
figure-<id>.<FORMAT>, and results.json lists each file or error. The job
exits 0 once every figure was tried.
"""

import json
import os
import sys
from pathlib import Path

from apps.vis_app.services.render import FORMATS, render


def run(specs_file, output_dir, fmt):
    if fmt not in FORMATS:
        print(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}", file=sys.stderr)
        return 2
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    results = []
    for figure in json.loads(Path(specs_file).read_text()):
        target = output / f"figure-{int(figure['id'])}.{fmt}"
        try:
            size = render(figure["spec"], target, fmt)
        except (ValueError, TypeError, KeyError) as exc:
            results.append({"figure_id": figure["id"], "error": str(exc)})
            continue
        results.append({"figure_id": figure["id"], "name": figure["name"], "file": target.name, "bytes": size})
    failed = sum(1 for result in results if "error" in result)

    temporary = output / "results.json.tmp"
    temporary.write_text(json.dumps({"figures": len(results), "failed": failed, "results": results}))
    os.replace(temporary, output / "results.json")
    print(f"rendered {len(results) - failed} of {len(results)} figures as {fmt} into {output}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: python -m apps.vis_app.batch SPECS_FILE OUTPUT_DIR FORMAT")
    sys.exit(run(*sys.argv[1:]))
