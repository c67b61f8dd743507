"""Writing a report's files into a folder, each atomically, with the folder's manifest."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from allocator.files import write_atomic
from allocator.instance.model import Instance
from allocator.report.document import Report, build_report
from allocator.report.html import render_html
from allocator.report.workbook import report_workbook

log = logging.getLogger(__name__)


def write_report(
    instance: Instance, solution: Any, out_dir: str | Path, label: str | None = None, baseline: Any = None
) -> list[Path]:
    """Write the workbook, the charts and the HTML page into `out_dir`; the paths written. The
    solution is named `label`, by default the instance's name; a re-plan needs its `baseline`."""
    return save_report(build_report(instance, solution, label, baseline), out_dir)


def save_report(report: Report, out_dir: str | Path) -> list[Path]:
    """Write a built report's files into `out_dir` (each atomically); the paths written. The files
    an earlier report listed in the folder's manifest and this one does not write are removed."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, str | bytes] = {**report.charts, "report.xlsx": report_workbook(report)}
    files["report.html"] = render_html(report)
    earlier = _listed(folder)
    _write_manifest(folder, [*files, *(n for n in earlier if n not in files)])  # a crash leaves none unlisted
    written = []
    for name, data in files.items():
        write_atomic(folder / name, data)
        written.append(folder / name)
    for name in earlier - files.keys():
        (folder / name).unlink(missing_ok=True)
        log.info("removed %s: an earlier report's file this report does not write", folder / name)
    _write_manifest(folder, list(files))
    log.info("report of %s written to %s (%d files)", report.label, folder, len(written))
    return written


#: The file in a report folder that lists the files the report wrote.
MANIFEST = ".allocator-report"
#: The names of the files a report writes (a chart name keeps to [A-Za-z0-9_.-]): never a path.
REPORT_FILE = re.compile(
    r"report\.(html|xlsx)|(leads|coverage|personnel|burden)\.png|rotation-[\w.-]+\.png", re.A
)


def _write_manifest(folder: Path, names: list[str]) -> None:
    header = "# the files allocator's report wrote here; the next report removes those it does not write\n"
    write_atomic(folder / MANIFEST, header + "".join(f"{name}\n" for name in names))


def _listed(folder: Path) -> set[str]:
    """The files the folder's manifest names that are there and may be removed: only names of report
    files (REPORT_FILE), never a path, as the folder and its manifest may come from elsewhere."""
    try:
        text = (folder / MANIFEST).read_text(encoding="utf-8")
    except FileNotFoundError:
        return set()
    except (OSError, UnicodeDecodeError) as error:
        log.warning("%s: unreadable (%s); no earlier report's file removed", folder / MANIFEST, error)
        return set()
    names = {line.strip() for line in text.splitlines() if not line.startswith("#")}
    return {n for n in names if REPORT_FILE.fullmatch(n) and (folder / n).is_file()}
