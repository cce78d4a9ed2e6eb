"""Benchmark: full validation of the sample SPC database vs migrating it, in the same run.

    .venv/bin/python benchmarks/bench_validate.py --rows 1000000

Builds the sample SQLite database (or reuses --sqlite), starts a private embedded PostgreSQL
in a temporary RUNBOOK_HOME on a free port, provisions the role and database, times
`migrate.run` and then `validate.run` (mode full), prints the figures and peak memory, and
exits non-zero unless validation was faster than the migration and found nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000, help="measurements in the sample")
    p.add_argument("--sqlite", help="reuse this sample database (built there when missing)")
    p.add_argument("--workers", type=int, default=2, help="migration workers")
    p.add_argument("--keep", action="store_true", help="keep the temporary workspace")
    return p.parse_args()


def peak_mb() -> tuple[float, float]:
    """Peak resident memory of this process and of its largest child, in MB (Linux: KB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return round(own, 1), round(child, 1)


def sample(args, workspace: Path) -> tuple[Path, float]:
    from runbook_lib.prepare import demo

    path = Path(args.sqlite) if args.sqlite else workspace / "spc.sqlite3"
    if path.is_file():
        return path, 0.0
    began = time.perf_counter()
    demo.build(path, rows=args.rows)
    return path, time.perf_counter() - began


def settings_for(workspace: Path, path: Path, workers: int):
    from runbook_lib import load_settings
    from runbook_lib.core import server
    from runbook_lib.prepare.demo import sample_project

    return load_settings(target="embedded", db_port=server.free_port(), sqlite_path=str(path),
                         django_project=str(sample_project()), workers=workers,
                         run_dir=str(workspace / "runs" / "bench"), validate_mode="full")


def measure(settings) -> dict:
    from runbook_lib import migrate, validate
    from runbook_lib.core import server
    from runbook_lib.prepare import provision

    server.ensure_target(settings)
    provision.create_database(settings)
    began = time.perf_counter()
    migrate.run(settings, progress=False)
    migrated = time.perf_counter() - began
    began = time.perf_counter()
    report = validate.run(settings)
    validated = time.perf_counter() - began
    own, child = peak_mb()
    return {"migrate_s": round(migrated, 2), "validate_s": round(validated, 2),
            "ratio": round(validated / migrated, 2), "validation_ok": report.ok,
            "tables": {v.table: v.source_rows for v in report.tables},
            "peak_rss_mb": {"this process": own, "largest child": child},
            "summary": report.summary()}


def main() -> int:
    args = parse()
    workspace = Path(tempfile.mkdtemp(prefix="bench-validate-"))
    (workspace / "notebooks").mkdir()
    (workspace / "parameters").mkdir()
    os.environ["RUNBOOK_HOME"] = str(workspace)
    os.environ.pop("RUNBOOK_BATCH", None)
    settings = None
    try:
        path, built = sample(args, workspace)
        settings = settings_for(workspace, path, args.workers)
        result = {"rows": args.rows, "sample_build_s": round(built, 1), **measure(settings)}
    finally:
        if settings is not None:
            from runbook_lib.core import server

            server.for_settings(settings).destroy()
        if not args.keep:
            shutil.rmtree(workspace, ignore_errors=True)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    faster = result["validate_s"] < result["migrate_s"]
    print(f"validation {result['validate_s']} s vs migration {result['migrate_s']} s: "
          f"{'faster' if faster else 'SLOWER'}; validation "
          f"{'found nothing' if result['validation_ok'] else 'FOUND DIFFERENCES'}")
    return 0 if faster and result["validation_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
