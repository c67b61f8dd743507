"""The plan report: a workbook, PNG charts and one self-contained HTML page.

``write_report(instance, solution, out_dir)`` writes into `out_dir`:

- ``report.xlsx``: summary (with the input warnings, such as a plan made for other data),
  assignments (one row per tour), leads, coverage (task and capability x period, deployed /
  required, and a task's nations / min_nations), shortfalls, burden against fair share under units,
  personnel and cost, and for a verified plan why (each shortfall's reasons) and why-objectives;
- ``rotation-<task>.png`` per task (:func:`chart_name`: every id its own file), ``leads.png``,
  ``coverage.png`` (task x period), ``personnel.png`` (nation x period heat map), ``burden.png``;
- ``report.html``: the summary, every chart (embedded) and the tables; opens without a network.

Every file is written atomically; the numbers are recomputed from the solution's assignments. The
folder's manifest (``.allocator-report``) names the files written, so that the next report written
there removes those it does not write again (an older instance's rotation charts) and nothing else.
"""

from allocator.report.charts import chart_name
from allocator.report.document import Report, build_report
from allocator.report.save import save_report, write_report

__all__ = ["Report", "build_report", "chart_name", "save_report", "write_report"]
