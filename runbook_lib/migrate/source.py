"""The SQLite source: a consistent snapshot (backup API, WAL-safe) and full introspection.

The user's file is opened read-only (`mode=ro`), so its bytes and mtime never change and a
live application can keep writing; committed pages still in the `-wal` file are part of the
snapshot. Everything else reads the snapshot.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import shutil
import sqlite3
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..core import files, source_state, sqlite_quirks, state
from ..core.errors import SourceError
from ..core.identifiers import quote_ident
from ..core.paths import closest_file
from . import sqlite_only
from .wording import ERRORS

__all__ = ["snapshot", "integrity_check", "introspect", "connect_ro", "SourceSchema", "Table", "Column",
           "ForeignKey", "Index", "SNAPSHOT_NAME", "rowid_range", "BackgroundCheck",
           "refuse_deleting_source"]

SNAPSHOT_NAME = "snapshot.sqlite3"
HEADER = b"SQLite format 3\x00"
_AUTOINC = re.compile(r"\bAUTOINCREMENT\b", re.IGNORECASE)


@dataclass(frozen=True)
class Column:
    """One column as SQLite declares it (hidden: 0 normal, 2/3 generated virtual/stored)."""

    name: str
    declared_type: str
    notnull: bool
    default: str | None
    pk: int
    hidden: int = 0


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str
    on_update: str
    ref_rowid: bool = False  # it references the parent's INTEGER PRIMARY KEY (the rowid)


@dataclass(frozen=True)
class Index:
    """An index; origin 'c' (CREATE INDEX), 'u' (UNIQUE constraint) or 'pk'."""

    name: str
    columns: tuple[str | None, ...]
    unique: bool
    origin: str
    partial: bool
    sql: str | None
    descending: tuple[bool, ...] = ()

    @property
    def expression(self) -> bool:
        return None in self.columns


@dataclass
class Table:
    name: str
    columns: list[Column]
    primary_key: list[str]
    without_rowid: bool
    autoincrement: bool
    sequence: int | None
    foreign_keys: list[ForeignKey]
    indexes: list[Index]
    rows: int
    sql: str
    kind: str = "table"  # or a virtual table copied as its content: "fulltext", "rtree"

    @property
    def rowid_alias(self) -> str | None:
        """The INTEGER PRIMARY KEY column that is the rowid, if any."""
        if self.without_rowid or len(self.primary_key) != 1:
            return None
        col = self.column(self.primary_key[0])
        return col.name if col.declared_type.strip().upper() == "INTEGER" else None

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


@dataclass
class SourceSchema:
    path: str
    tables: list[Table]
    views: dict[str, str] = field(default_factory=dict)
    triggers: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    derived: list[dict] = field(default_factory=list)  # not copied (sqlite_only)
    collations: list[str] = field(default_factory=list)  # unknown to SQLite: read as binary

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)


def _check_file(path: Path) -> None:
    if not path.is_file():
        near = closest_file(path)
        key = "no_source_near" if near else "no_source"
        raise SourceError(ERRORS[key], ERRORS[f"{key}_fix"], path=str(path), near=str(near))
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head != HEADER:
        raise SourceError(ERRORS["not_sqlite" if head else "empty_file"],
                          ERRORS["not_sqlite_fix"], path=str(path))


def connect_ro(path: str | Path) -> sqlite3.Connection:
    """Open a SQLite file read-only; it is never written, not even a checkpoint. Collations
    the file names but SQLite lacks are registered as binary (`core.sqlite_quirks`)."""
    return sqlite_quirks.open_ro(path)


def rowid_range(conn: sqlite3.Connection, table: str) -> tuple[int, int]:
    """min(rowid), max(rowid): two subqueries, each O(log n) (both in one SELECT scan it all)."""
    name = quote_ident(table)
    return conn.execute(f"SELECT (SELECT min(rowid) FROM {name}), "
                        f"(SELECT max(rowid) FROM {name})").fetchone()


def _wal_mode(path: Path) -> bool:
    """Header bytes 18-19 are 2 in WAL mode (1: rollback journal)."""
    with open(path, "rb") as fh:
        fh.seek(18)
        return fh.read(2) == b"\x02\x02" or Path(str(path) + "-wal").exists()


def _copy_locked(src_path: Path, dest: Path, state: dict) -> None:
    """Rollback-journal file: copy its bytes while a read transaction blocks writers."""
    src = connect_ro(src_path)
    try:
        src.execute("BEGIN")
        src.execute("SELECT count(*) FROM sqlite_master").fetchone()  # takes the SHARED lock
        state.update(source_state.capture(src_path))  # what the copy holds
        shutil.copyfile(src_path, dest)
        src.execute("COMMIT")
    finally:
        src.close()


def _backup(src_path: Path, dest: Path, state: dict) -> None:
    """WAL file: SQLite's backup API, which includes the commits still in the -wal file; the
    live file's state is read inside the same read transaction as the pages."""
    src = connect_ro(src_path)
    out = sqlite3.connect(dest)
    try:
        out.execute("PRAGMA synchronous=OFF")
        out.execute("PRAGMA journal_mode=OFF")
        src.execute("BEGIN")
        src.execute("SELECT count(*) FROM sqlite_master").fetchone()
        state.update(source_state.capture(src_path))
        src.backup(out)
        src.execute("COMMIT")
        out.execute("PRAGMA journal_mode=DELETE")
    finally:
        out.close()
        src.close()


def integrity_check(path: str | Path) -> None:
    """PRAGMA integrity_check on the snapshot; raise SourceError listing the first problems."""
    conn = connect_ro(path)
    try:  # through mmap (read-only file): ~8 % less CPU than a read() per page
        conn.execute("PRAGMA mmap_size = 1073741824")
        verdict = conn.execute("PRAGMA integrity_check").fetchall()
    finally:
        conn.close()
    if verdict != [("ok",)]:
        problems = "; ".join(r[0] for r in verdict[:5])
        raise SourceError(ERRORS["integrity"], ERRORS["integrity_fix"], path=str(path),
                          problems=problems)


def _check_child(path: str, send) -> None:
    """In the child: low priority, PRAGMA integrity_check and the snapshot's SHA-256; the
    verdict sent back as ("ok", sha256) or (message, hint) in every language."""
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, 10)  # the migration's critical path goes first
    try:
        integrity_check(path)
        send.send(("ok", state.sha256(path)))
    except SourceError as exc:
        send.send(exc.texts)
    except sqlite3.DatabaseError as exc:
        send.send(SourceError(ERRORS["integrity"], ERRORS["integrity_fix"], path=path,
                              problems=str(exc)).texts)


class BackgroundCheck:
    """PRAGMA integrity_check in a child process (not a thread: the COPY workers are forked
    later, and a thread inside SQLite at fork time could leave a mutex locked in them)."""

    def __init__(self, path: str | Path) -> None:
        ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux")
                                          else "spawn")
        self.recv, send = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_check_child, args=(str(path), send), daemon=True)
        self.proc.start()
        send.close()
        self.verdict: tuple | None = None
        self.sha256 = ""
        self.done = False

    def result(self) -> str:
        """Wait for the verdict; the snapshot's SHA-256, or SourceError when it is damaged."""
        if not self.done:
            try:
                self.verdict = self.recv.recv()
            except EOFError:
                self.verdict = (ERRORS["integrity_stopped"], ERRORS["integrity_stopped_fix"])
            self.recv.close()
            self.proc.join()
            self.done = True
            if self.verdict[0] == "ok":
                self.sha256, self.verdict = self.verdict[1], None
        if self.verdict:
            raise SourceError(*self.verdict)
        return self.sha256


def _family(path: Path) -> list[Path]:
    """A SQLite file and the files that belong to it."""
    return [path] + [path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal")]


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return st.st_dev, st.st_ino


REWRITTEN_FOLDERS = ("quarantine", "backups", "retention-drill")  # inside the run folder


def refuse_deleting_source(sqlite_path: str | Path, run_dir: str | Path) -> None:
    """Stop before anything is touched when the source is, or sits inside, a path of the run
    folder that the runbook deletes or rewrites (snapshot.sqlite3 and its -wal/-shm/-journal,
    the source-state scratch copy, quarantine/, backups/, retention-drill/), compared by
    resolved path and by device and inode (a hard link, a bind mount)."""
    src = Path(sqlite_path).expanduser().resolve()
    run = Path(run_dir).expanduser().resolve()
    doomed = _family(run / SNAPSHOT_NAME) + _family(run / source_state.SCRATCH)
    folders = [run / name for name in REWRITTEN_FOLDERS]
    mine = {i for i in map(_identity, _family(src)) if i}
    clash = next((p for p in doomed if p == src or _identity(p) in mine), None)
    clash = clash or next((f for f in folders if f == src or f in src.parents), None)
    if clash:
        raise SourceError(ERRORS["source_doomed"], ERRORS["source_doomed_fix"], source=str(src),
                          clash=str(clash))


def _clear_leftovers(dest: Path, src: Path) -> None:
    """Remove an earlier snapshot's files, never a file that is (or belongs to) the source."""
    mine = {i for i in map(_identity, _family(src)) if i}
    for leftover in _family(dest):
        if _identity(leftover) in mine or leftover.resolve() in _family(src):
            raise SourceError(ERRORS["source_leftover"], ERRORS["source_leftover_fix"],
                              leftover=str(leftover))
        leftover.unlink(missing_ok=True)


def snapshot(sqlite_path: str | Path, run_dir: str | Path, check: bool = True,
             state: dict | None = None) -> Path:
    """A consistent copy of the source in `run_dir/snapshot.sqlite3` (source left untouched);
    `state` receives the live file's state the copy holds (`core.source_state`)."""
    refuse_deleting_source(sqlite_path, run_dir)
    src_path = Path(sqlite_path).resolve()
    _check_file(src_path)
    dest = Path(run_dir) / SNAPSHOT_NAME
    dest.parent.mkdir(parents=True, exist_ok=True)
    _clear_leftovers(dest, src_path)
    try:
        (_backup if _wal_mode(src_path) else _copy_locked)(src_path, dest,
                                                           {} if state is None else state)
        if check:
            integrity_check(dest)
    except BaseException as exc:
        for partial in (dest, dest.with_name(dest.name + "-journal")):
            partial.unlink(missing_ok=True)  # never leave half a snapshot behind
        if files.is_disk_full(exc):
            raise SourceError(ERRORS["no_room"], ERRORS["no_room_fix"], dest=str(dest),
                              error=str(exc), size=src_path.stat().st_size) from None
        if isinstance(exc, sqlite3.DatabaseError):
            raise SourceError(ERRORS["unreadable"], ERRORS["unreadable_fix"], path=str(src_path),
                              error=str(exc)) from None
        raise
    return dest


def _columns(conn: sqlite3.Connection, table: str) -> list[Column]:
    """Columns in order; a virtual table's hidden ones (hidden = 1: FTS's own) left out."""
    rows = conn.execute("SELECT name, type, \"notnull\", dflt_value, pk, hidden "
                        "FROM pragma_table_xinfo(?) WHERE hidden != 1 ORDER BY cid",
                        (table,)).fetchall()
    return [Column(n, t or "", bool(nn), d, pk, hidden) for n, t, nn, d, pk, hidden in rows]


def _foreign_keys(conn: sqlite3.Connection, table: str, pk_of) -> list[ForeignKey]:
    rows = conn.execute("SELECT id, seq, \"table\", \"from\", \"to\", on_update, on_delete "
                        "FROM pragma_foreign_key_list(?) ORDER BY id, seq", (table,)).fetchall()
    groups: dict[int, list] = {}
    for row in rows:
        groups.setdefault(row[0], []).append(row)
    out = []
    for parts in groups.values():
        ref = parts[0][2]
        refs = [p[4] for p in parts]
        if any(r is None for r in refs):
            refs = pk_of(ref) or refs
        out.append(ForeignKey(tuple(p[3] for p in parts), ref, tuple(refs), parts[0][6],
                              parts[0][5]))
    return out


def _indexes(conn: sqlite3.Connection, table: str) -> list[Index]:
    out = []
    for _seq, name, unique, origin, partial in conn.execute(
            "SELECT seq, name, \"unique\", origin, partial FROM pragma_index_list(?)", (table,)):
        cols = conn.execute("SELECT name, desc FROM pragma_index_xinfo(?) WHERE key=1 "
                            "ORDER BY seqno", (name,)).fetchall()
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE type='index' AND name=?",
                           (name,)).fetchone()
        out.append(Index(name, tuple(c[0] for c in cols), bool(unique), origin, bool(partial),
                         sql[0] if sql else None, tuple(bool(c[1]) for c in cols)))
    return sorted(out, key=lambda i: i.name)


def _sequences(conn: sqlite3.Connection) -> dict[str, int]:
    has = conn.execute("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'").fetchone()
    return dict(conn.execute("SELECT name, seq FROM sqlite_sequence")) if has else {}


def _table(conn, name: str, wr: bool, sql: str, seqs: dict, pk_of) -> Table:
    cols = _columns(conn, name)
    pk = [c.name for c in sorted((c for c in cols if c.pk), key=lambda c: c.pk)]
    count = conn.execute(f'SELECT count(*) FROM "{name.replace(chr(34), chr(34) * 2)}"')
    auto = bool(_AUTOINC.search(sql or ""))
    return Table(name, cols, pk, wr, auto, seqs.get(name), _foreign_keys(conn, name, pk_of),
                 _indexes(conn, name), count.fetchone()[0], sql or "")


def _mark_rowid_references(schema: SourceSchema) -> None:
    """Mark the foreign keys that reference a parent's rowid: those values are integers only,
    never NULL, so a membership test finds exactly what SQLite's own check would."""
    aliases = {t.name.casefold(): (t.rowid_alias or "").casefold() for t in schema.tables}
    for table in schema.tables:
        table.foreign_keys = [
            replace(fk, ref_rowid=True) if len(fk.ref_columns) == 1
            and aliases.get(fk.ref_table.casefold()) == fk.ref_columns[0].casefold() != ""
            else fk for fk in table.foreign_keys]



def _content_table(conn, virtual: sqlite_only.Virtual, sql: str) -> Table:
    """A full-text or R-tree table as the plain table of its content: FTS keeps its rowid
    as the key (the column `rowid`), an R-tree its first column (`id`)."""
    cols = _columns(conn, virtual.name)
    count = conn.execute(f"SELECT count(*) FROM {quote_ident(virtual.name)}").fetchone()[0]
    if virtual.module in sqlite_only.FULLTEXT:
        if not any(c.name.lower() == "rowid" for c in cols):
            cols = [Column("rowid", "INTEGER", True, None, 1)] + cols
        pk, kind = ["rowid"], "fulltext"
    else:
        pk, kind = cols[:1] and [cols[0].name], "rtree"
    return Table(virtual.name, cols, pk, False, False, None, [], [], count, sql, kind)


def _virtual(conn, schema: SourceSchema, name: str, sql: str, shadows: dict) -> None:
    """Place one virtual table: copied as its content, derived, or skipped (no module)."""
    found = sqlite_only.parse(name, sql)
    plain = {t.name: [c.name for c in t.columns] for t in schema.tables if t.kind == "table"}
    owner = sqlite_only.spatial_owner(name, plain) if found.module in sqlite_only.RTREE else None
    kind = "spatial" if owner else "fulltext" if found.module in sqlite_only.FULLTEXT else "rtree"
    shadows[name] = (kind, owner or name)
    if found.copied and not owner:
        try:
            schema.tables.append(_content_table(conn, found, sql))
            return
        except sqlite3.DatabaseError:  # the module is missing from this SQLite
            pass
    elif found.external or owner:
        schema.derived.append(sqlite_only.derived_entry(conn, name, kind, owner or
                                                        found.options.get("content", "")))
        return
    schema.skipped[name] = sql or "virtual table"


def _shadow_owner(name: str, shadows: dict) -> tuple[str, str]:
    """(kind, owner) of a shadow table: the virtual table whose name prefixes it."""
    owner = max((v for v in shadows if name.startswith(v + "_")), key=len, default="")
    kind, of = shadows.get(owner, ("fulltext", owner))
    return kind, of


def introspect(path: str | Path, plain: bool = True) -> SourceSchema:
    """Tables, columns, keys, indexes, views, triggers and sqlite_sequence of a SQLite file.
    `plain` (schema: sqlite): SQLite-only structures sorted into copied content and derived
    data (`sqlite_only`); else (schema: django, which reconciles them with Django's schema)
    virtual and shadow tables are listed as skipped."""
    conn = connect_ro(path)
    try:
        listed = conn.execute("SELECT name, type, wr FROM pragma_table_list "
                              "WHERE schema='main' ORDER BY name").fetchall()
        master = dict(conn.execute("SELECT name, sql FROM sqlite_master"))
        seqs = _sequences(conn)

        def pk_of(ref: str) -> list[str]:
            rows = conn.execute("SELECT name FROM pragma_table_info(?) WHERE pk>0 ORDER BY pk",
                                (ref,)).fetchall()
            return [r[0] for r in rows]

        schema = SourceSchema(str(path), [], collations=sqlite_quirks.unknown_collations(conn))
        later, shadows = [], {}
        for name, kind, wr in listed:
            if name.startswith("sqlite_stat") and plain:
                schema.derived.append(sqlite_only.derived_entry(conn, name, "statistics"))
            elif name.startswith("sqlite_"):
                continue
            elif kind == "view":
                schema.views[name] = master.get(name) or ""
            elif kind in ("virtual", "shadow") and not plain:
                schema.skipped[name] = master.get(name) or f"{kind} table"
            elif kind in ("virtual", "shadow"):
                later.append((name, kind))
            else:
                schema.tables.append(_table(conn, name, bool(wr), master.get(name), seqs, pk_of))
        for name, kind in sorted(later, key=lambda x: x[1] != "virtual"):  # virtual first
            if kind == "virtual":
                _virtual(conn, schema, name, master.get(name) or "", shadows)
            else:
                kind, owner = _shadow_owner(name, shadows)
                schema.derived.append(sqlite_only.derived_entry(conn, name, kind, owner))
        for name, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE type='trigger'"):
            schema.triggers[name] = sql
        _mark_rowid_references(schema)
        schema.tables.sort(key=lambda t: t.name)
        schema.derived.sort(key=lambda d: d["table"])
        return schema
    finally:
        conn.close()
