"""The guide's SQLite-vs-PostgreSQL table, measured on the user's own data.

Five scenarios (single INSERT, bulk INSERT of 1000 rows, simple SELECT, the SPC report's
JOIN with aggregates, 10 concurrent writers) run on a throwaway COPY of the SQLite snapshot
and on the migrated database. PostgreSQL writes go to a scratch table with the measurement
table's shape (dropped afterwards), so the migrated data stays exactly as validated.
"""

from __future__ import annotations

import shutil
import sqlite3
import statistics
import time
import warnings
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2.errors

from ..core import db, server, state
from ..core.errors import RunbookError
from ..core.i18n import t
from ..core.results import batch_mode
from .notes import SCENARIOS, describe, label, notes
from .sql import SCRATCH, Shape, discover, pg_scratch, sqlite_copy, sqlite_scratch
from .writers import Ids as _Ids
from .writers import WriterPool

__all__ = ["SCENARIOS", "run", "chart", "figure", "BenchResult", "scenarios_frame",
           "hangul_font"]

WARMUP = 2
MIN_REPEATS = 3
MAX_REPEATS = 200
WRITERS = 10
BULK_ROWS = 1000


class BenchError(RunbookError):
    """The benchmark could not run on this data."""


ERRORS = {
    "no_source": {"en": "The SQLite file {source} does not exist.",
                  "ko": "SQLite 파일 {source}이(가) 없습니다."},
    "no_source_fix": {"en": "Run 03_migrate first, or set sqlite_path to your SQLite file.",
                      "ko": "먼저 03_migrate를 실행하거나 sqlite_path를 SQLite 파일로 설정하세요."},
    "no_table": {"en": "The migrated database has no table the benchmark needs: {error}.",
                 "ko": "이전된 데이터베이스에 벤치마크에 필요한 테이블이 없습니다: {error}."},
    "no_table_fix": {"en": "Run 03_migrate (and 04_validate) in this run first.",
                     "ko": "이 실행에서 먼저 03_migrate(와 04_validate)를 실행하세요."},
    "no_font": {"en": "No font with Hangul found (install fonts-nanum or pip install "
                      "koreanize-matplotlib): the chart's labels stay in English.",
                "ko": "한글 글꼴을 찾지 못했습니다(fonts-nanum 설치 또는 pip install "
                      "koreanize-matplotlib): 차트의 라벨은 영어로 표시됩니다."},
}


@dataclass
class Timing:
    """Repeated timings of one scenario on one engine, in milliseconds."""

    samples: list[float] = field(default_factory=list)
    lock_waits: int = 0
    errors: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def quartiles(self) -> tuple[float, float]:
        if len(self.samples) < 2:
            return self.samples[0], self.samples[0]
        q = statistics.quantiles(self.samples, n=4, method="inclusive")
        return q[0], q[2]


def measure(op: Callable[[], object], budget_s: float) -> Timing:
    """Warm up, then repeat `op` until the budget is spent (at least MIN_REPEATS times)."""
    for _ in range(WARMUP):
        op()
    timing = Timing()
    deadline = time.perf_counter() + budget_s
    while len(timing.samples) < MAX_REPEATS:
        start = time.perf_counter()
        extra = op()
        timing.samples.append((time.perf_counter() - start) * 1000)
        if isinstance(extra, tuple):
            timing.lock_waits += extra[0]
            timing.errors += extra[1]
        if len(timing.samples) >= MIN_REPEATS and time.perf_counter() > deadline:
            break
    return timing


def _sqlite_ops(conn: sqlite3.Connection, shape: Shape, ids: _Ids, pool: WriterPool) -> dict:
    """The five scenarios as callables on the SQLite copy."""
    insert, template = shape.insert_sql("?", SCRATCH), shape.sqlite_template

    def single():
        conn.execute(insert, [ids.take()[0], *template])
        conn.commit()

    def bulk():
        conn.executemany(insert, [[i, *template] for i in ids.take(BULK_ROWS)])
        conn.commit()

    def select():
        return conn.execute(shape.select_sql("?"), [shape.pick_id()]).fetchall()

    def join():
        return conn.execute(shape.join_sql()).fetchall()

    def writers():
        return pool.round()

    return {"single_insert": single, "bulk_insert": bulk, "simple_select": select,
            "complex_join": join, "concurrent_writes": writers}


def _pg_ops(conn, shape: Shape, ids: _Ids, scratch: str, pool: WriterPool) -> dict:
    """The five scenarios on PostgreSQL; writes go to the scratch table."""
    from psycopg2.extras import execute_values

    insert, template = shape.insert_sql("%s", scratch), shape.pg_template
    cur = conn.cursor()

    def single():
        cur.execute(insert, [ids.take()[0], *template])

    def bulk():  # one multi-row INSERT statement (one transaction), as Django's bulk_create
        execute_values(cur, shape.insert_sql(None, scratch),
                       [[i, *template] for i in ids.take(BULK_ROWS)], page_size=BULK_ROWS)

    def select():
        cur.execute(shape.select_sql("%s"), [shape.pick_id()])
        return cur.fetchall()

    def join():
        cur.execute(shape.join_sql())
        return cur.fetchall()

    def writers():
        return pool.round()

    return {"single_insert": single, "bulk_insert": bulk, "simple_select": select,
            "complex_join": join, "concurrent_writes": writers}


def _engines(settings, sconn, pconn, shape: Shape, ids: _Ids, scratch: str, copy: Path,
             stack: ExitStack) -> list[tuple[str, dict]]:
    """Both engines' operations, each with its pool of concurrent writers."""
    lite_pool = stack.enter_context(WriterPool("sqlite", copy, shape.insert_sql("?", scratch),
                                               shape.sqlite_template, ids, WRITERS))
    pg_pool = stack.enter_context(WriterPool("postgresql", settings,
                                             shape.insert_sql("%s", scratch),
                                             shape.pg_template, ids, WRITERS))
    return [("sqlite", _sqlite_ops(sconn, shape, ids, lite_pool)),
            ("postgresql", _pg_ops(pconn, shape, ids, scratch, pg_pool))]


def _snapshot(settings) -> Path:
    """The migration's snapshot when stage 03 recorded one (with the target or in this run),
    else the source file itself."""
    record = state.current(settings)
    recorded = record.snapshot if record else ""
    source = Path(recorded) if recorded and Path(recorded).is_file() else settings.sqlite_file
    if not source.is_file():
        raise BenchError(ERRORS["no_source"], ERRORS["no_source_fix"], source=str(source))
    return source


def _progress(total: int):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="benchmark", unit="scenario", disable=batch_mode())


def run(settings, seconds: float | None = None) -> BenchResult:
    """Measure the five scenarios on both engines within `settings.bench_seconds`."""
    server.ensure_target(settings)
    budget = float(seconds if seconds is not None else settings.bench_seconds)
    slot = max(budget * 0.7 / (2 * len(SCENARIOS)), 0.05)
    work = Path(settings.run_dir) / "bench"
    work.mkdir(parents=True, exist_ok=True)
    copy = sqlite_copy(_snapshot(settings), work / "bench-copy.sqlite3")
    measured: dict[str, dict[str, Timing]] = {name: {} for name in SCENARIOS}
    started = time.perf_counter()
    sconn = sqlite3.connect(copy, timeout=5)
    try:
        shape = discover(sconn)
        sqlite_scratch(sconn, shape)  # writes go to scratch tables on both sides
        with ExitStack() as stack:
            pconn = stack.enter_context(db.connection(settings, autocommit=True))
            scratch = stack.enter_context(pg_scratch(pconn, shape))
            shape.load_pg_template(pconn)
            ids = _Ids(shape.next_id(sconn, pconn, scratch))
            engines = _engines(settings, sconn, pconn, shape, ids, scratch, copy, stack)
            bar = stack.enter_context(_progress(2 * len(SCENARIOS)))
            for engine, ops in engines:
                for name, op in ops.items():
                    measured[name][engine] = measure(op, slot)
                    bar.update(1)
    except psycopg2.errors.UndefinedTable as exc:
        raise BenchError(ERRORS["no_table"], ERRORS["no_table_fix"],
                         error=str(exc).strip().splitlines()[0]) from None
    finally:
        sconn.close()
        shutil.rmtree(work, ignore_errors=True)
    return BenchResult(measured, shape, round(time.perf_counter() - started, 1))


@dataclass
class BenchResult:
    """Measured timings per scenario and engine, beside the guide's claims."""

    measured: dict[str, dict[str, Timing]]
    shape: Shape
    seconds: float

    def rows(self) -> list[dict]:
        out = []
        for name, (_label, guide_sqlite, guide_pg) in SCENARIOS.items():
            lite, pg = self.measured[name]["sqlite"], self.measured[name]["postgresql"]
            out.append({
                "scenario": name, "label": label(name, "en", self.shape),
                "guide_sqlite_ms": guide_sqlite, "guide_pg_ms": guide_pg,
                "guide_ratio": round(guide_sqlite / guide_pg, 1),
                "sqlite_ms": round(lite.median, 3), "pg_ms": round(pg.median, 3),
                "sqlite_iqr_ms": [round(v, 3) for v in lite.quartiles()],
                "pg_iqr_ms": [round(v, 3) for v in pg.quartiles()],
                "ratio": round(lite.median / pg.median, 2) if pg.median else None,
                "repeats": [len(lite.samples), len(pg.samples)],
                "sqlite_lock_waits": lite.lock_waits, "sqlite_locked_errors": lite.errors,
                "pg_lock_waits": pg.lock_waits, "pg_errors": pg.errors,
            })
        return out

    def frame(self, language: str = "en"):
        """The guide's numbers beside the measured medians (ms) and the ratio."""
        import pandas as pd

        frame = pd.DataFrame([{
            "scenario": label(r["scenario"], language, self.shape),
            "guide SQLite ms": r["guide_sqlite_ms"], "guide PostgreSQL ms": r["guide_pg_ms"],
            "guide ratio": r["guide_ratio"],
            "SQLite ms (median)": r["sqlite_ms"],
            "SQLite IQR": "{:.2f}–{:.2f}".format(*r["sqlite_iqr_ms"]),
            "PostgreSQL ms (median)": r["pg_ms"],
            "PostgreSQL IQR": "{:.2f}–{:.2f}".format(*r["pg_iqr_ms"]),
            "measured ratio": r["ratio"],
            "runs": "{}/{}".format(*r["repeats"]),
        } for r in self.rows()])
        return frame.set_index("scenario")

    def notes(self, language: str = "en") -> list[str]:
        return notes(self.rows(), self.shape, language)

    def manifest_section(self, chart_name: str = "benchmark.png") -> dict:
        return {"chart": chart_name, "rows": self.rows(), "seconds": self.seconds,
                "tables": [self.shape.table, self.shape.parent],
                "source_rows": self.shape.rows, "notes": self.notes()}

    def _repr_html_(self) -> str:
        return self.frame()._repr_html_()


def scenarios_frame(language: str = "en", settings=None):
    """What each scenario does, with the guide's claimed numbers; with `settings`, on the
    user's own tables (found in the SQLite file the benchmark will copy)."""
    import pandas as pd

    shape = _shape(settings) if settings is not None else None
    return pd.DataFrame([{"scenario": label(name, language, shape), "guide SQLite ms": lite,
                          "guide PostgreSQL ms": pg, "what runs": describe(name, language, shape)}
                         for name, (_label, lite, pg) in SCENARIOS.items()]).set_index("scenario")


def _shape(settings) -> Shape | None:
    """The tables the benchmark will use, read from the SQLite file (None when it cannot)."""
    try:
        conn = sqlite3.connect(f"file:{_snapshot(settings)}?mode=ro", uri=True)
    except (BenchError, sqlite3.Error):
        return None
    try:
        return discover(conn)
    except (RunbookError, sqlite3.Error):
        return None
    finally:
        conn.close()


CHART = {
    "sqlite": {"en": "SQLite (measured)", "ko": "SQLite (측정)"},
    "pg": {"en": "PostgreSQL (measured)", "ko": "PostgreSQL (측정)"},
    "guide": {"en": "guide's claim", "ko": "가이드의 주장"},
    "axis": {"en": "milliseconds (median, log scale)", "ko": "밀리초 (중앙값, 로그 눈금)"},
    "title": {"en": "{table} ({rows:,} rows) and {parent}: lower is better",
              "ko": "{table} ({rows:,}행)과 {parent}: 낮을수록 빠름"},
}
# Fonts with Hangul, by file name: system fonts first, then the one koreanize-matplotlib ships.
HANGUL_FONTS = ("NanumGothic", "NotoSansCJK", "NotoSansKR", "malgun", "AppleSDGothicNeo",
                "AppleGothic", "UnDotum", "SourceHanSans")


def hangul_font() -> str | None:
    """A font file that draws Korean, or None. Never imports koreanize_matplotlib (which would
    change matplotlib's global settings): only its font file is used."""
    import importlib.util

    from matplotlib import font_manager

    found = [f for f in font_manager.findSystemFonts()
             if any(name.lower() in Path(f).name.lower() for name in HANGUL_FONTS)]
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec and spec.submodule_search_locations:
        bundled = Path(list(spec.submodule_search_locations)[0]) / "fonts" / "NanumGothic.ttf"
        found += [str(bundled)] if bundled.is_file() else []
    return found[0] if found else None


def chart(result: BenchResult, path: str | Path, language: str = "en"):
    """Bar chart (log scale) of measured medians with the guide's claims marked; PNG + Image."""
    from IPython.display import Image

    fig = figure(result, language)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return Image(filename=str(path))


def figure(result: BenchResult, language: str = "en"):
    """The chart as a matplotlib Figure, labelled in `language` with the user's table names."""
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    font = hangul_font() if language == "ko" else None
    if language == "ko" and font is None:
        warnings.warn(t(ERRORS["no_font"], language), stacklevel=2)
        language = "en"
    prop = FontProperties(fname=font) if font else FontProperties()
    rows, shape = result.rows(), result.shape
    labels = [label(r["scenario"], language, shape) for r in rows]
    fig = Figure(figsize=(9, 4.5), layout="constrained")
    ax = fig.subplots()
    xs = range(len(rows))
    ax.bar([x - 0.2 for x in xs], [r["sqlite_ms"] for r in rows], 0.4,
           label=t(CHART["sqlite"], language), color="#6e7781")
    ax.bar([x + 0.2 for x in xs], [r["pg_ms"] for r in rows], 0.4,
           label=t(CHART["pg"], language), color="#336791")
    ax.scatter([x - 0.2 for x in xs], [r["guide_sqlite_ms"] for r in rows], marker="_", s=400,
               color="black", label=t(CHART["guide"], language), zorder=3)
    ax.scatter([x + 0.2 for x in xs], [r["guide_pg_ms"] for r in rows], marker="_", s=400,
               color="black", zorder=3)
    ax.set_yscale("log")
    ax.set_ylabel(t(CHART["axis"], language), fontproperties=prop)
    ax.set_xticks(list(xs), labels, rotation=15, ha="right", fontproperties=prop, fontsize=8)
    ax.set_title(t(CHART["title"], language, table=shape.table, rows=shape.rows,
                   parent=shape.parent), fontproperties=prop)
    ax.legend(prop=FontProperties(fname=font, size=8) if font else {"size": 8})
    return fig
