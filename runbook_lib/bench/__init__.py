"""Stage 07: the guide's SQLite-vs-PostgreSQL table, measured on the user's own data.

`run(settings)` times the scenarios on both engines and returns a `BenchResult`; `chart`
draws it; `scenarios_frame` says what each scenario runs; `markdown` shows the sentences
comparing each result with the guide. Inside: `scenarios`, `sql` (the scratch tables and
queries), `writers` (concurrent writers), `notes` (the guide's figures and the sentences).
"""

from .notes import SCENARIOS, markdown
from .scenarios import BenchResult, chart, run, scenarios_frame

__all__ = ["run", "chart", "scenarios_frame", "markdown", "BenchResult", "SCENARIOS"]
