"""What each benchmark scenario runs, and honest sentences comparing the result to the guide."""

from __future__ import annotations

from ..core import escape
from ..core.i18n import t

# id: (name, guide's SQLite ms, guide's PostgreSQL ms), from the guide's "성능 비교" table.
SCENARIOS: dict[str, tuple[dict, float, float]] = {
    "single_insert": ({"en": "single INSERT", "ko": "단일 INSERT"}, 5, 3),
    "bulk_insert": ({"en": "bulk INSERT (1000 rows)", "ko": "일괄 INSERT (1000)"}, 500, 150),
    "simple_select": ({"en": "simple SELECT (by id)", "ko": "단순 SELECT (id 조회)"}, 2, 1),
    "complex_join": ({"en": "complex JOIN (report)", "ko": "복잡한 JOIN (보고서)"}, 50, 10),
    "concurrent_writes": ({"en": "concurrent writes (10 writers)", "ko": "동시 쓰기 (10명)"},
                          200, 30),
}
DESCRIPTIONS = {
    "single_insert": {
        "en": "one row inserted into a copy of {table} and committed (durable: fsync on both "
              "engines)",
        "ko": "{table}의 복사본에 한 행 INSERT 후 커밋 (두 엔진 모두 fsync로 영속화)"},
    "bulk_insert": {
        "en": "1000 rows of {table} in one transaction (executemany / one multi-row INSERT)",
        "ko": "한 트랜잭션에 {table} 1000행 (executemany / 다중 행 INSERT)"},
    "simple_select": {
        "en": "one row of {table} fetched by primary key",
        "ko": "기본 키로 {table}의 한 행 조회"},
    "complex_join": {
        "en": "{table} JOIN {parent}, grouped per {parent} row: count, mean, min, max "
              "(and out-of-spec count when {parent} has spec limits)",
        "ko": "{table} JOIN {parent}, {parent} 행별 그룹: 건수, 평균, 최소, 최대 "
              "({parent}에 규격 한계가 있으면 규격 이탈 건수까지)"},
    "concurrent_writes": {
        "en": "10 writers on 10 connections each commit one row of {table} at the same "
              "moment; time until all 10 are done",
        "ko": "10개 연결의 10명이 동시에 {table}에 한 행씩 커밋; 10명 모두 끝날 때까지의 시간"},
}
# Before the benchmark finds the tables (the largest table with a foreign key, and its parent).
SOME_TABLES = {"table": {"en": "the largest table with a foreign key",
                         "ko": "외래 키가 있는 가장 큰 테이블"},
               "parent": {"en": "its parent table", "ko": "그 부모 테이블"}}


def label(name: str, language: str | None = None, shape=None) -> str:
    """A scenario's name; the JOIN names the user's own tables once they are known."""
    text = t(SCENARIOS[name][0], language)
    if name == "complex_join" and shape is not None:
        return text.split(" (")[0] + f" ({shape.table} × {shape.parent})"
    return text


def describe(name: str, language: str | None = None, shape=None) -> str:
    """What a scenario runs, on the user's tables when `shape` is known."""
    if shape is None:
        tables = {k: t(v, language) for k, v in SOME_TABLES.items()}
    else:
        tables = {"table": shape.table, "parent": shape.parent}
    return t(DESCRIPTIONS[name], language, **tables)


WHY_SQLITE_WINS = {
    "single_insert": {
        "en": "SQLite runs inside the application process, so a commit is a local file sync; "
              "PostgreSQL adds a network round trip and a WAL flush per commit",
        "ko": "SQLite는 애플리케이션 프로세스 안에서 동작하므로 커밋이 로컬 파일 동기화일 뿐이고, "
              "PostgreSQL은 커밋마다 네트워크 왕복과 WAL 플러시가 더해집니다"},
    "bulk_insert": {
        "en": "one in-process transaction has no client/server overhead, while the 1000-row "
              "INSERT for PostgreSQL is built as text by the driver and parsed by the server "
              "(as Django's bulk_create does); COPY, which stage 03 uses, is PostgreSQL's fast "
              "path for bulk loads",
        "ko": "프로세스 내부 트랜잭션에는 클라이언트/서버 오버헤드가 없지만, PostgreSQL용 1000행 "
              "INSERT는 드라이버가 텍스트로 만들고 서버가 파싱합니다(Django bulk_create와 같음). "
              "대량 적재의 빠른 길은 3단계가 쓰는 COPY입니다"},
    "simple_select": {
        "en": "a primary-key lookup in SQLite is a function call; PostgreSQL answers over a "
              "socket, and that round trip dominates a sub-millisecond query",
        "ko": "SQLite의 기본 키 조회는 함수 호출이고, PostgreSQL은 소켓을 통해 응답하므로 "
              "1ms 미만 쿼리에서는 왕복 시간이 대부분을 차지합니다"},
    "complex_join": {
        "en": "on this little data the whole report fits in memory for both; PostgreSQL's "
              "planner and parallel workers pay off on larger tables",
        "ko": "이 정도 데이터에서는 두 엔진 모두 메모리 안에서 끝나며, PostgreSQL의 플래너와 "
              "병렬 작업자는 더 큰 테이블에서 효과를 냅니다"},
    "concurrent_writes": {
        "en": "the ten writes are tiny, so SQLite's single write lock is released quickly",
        "ko": "쓰기가 매우 작아 SQLite의 단일 쓰기 잠금이 금방 풀립니다"},
}

TEMPLATES = {
    "sqlite_faster": {
        "en": "{name}: the guide claims PostgreSQL is {g}x faster, but here SQLite took {s} ms "
              "and PostgreSQL {p} ms (SQLite {inv}x faster). Why: {why}.",
        "ko": "{name}: 가이드는 PostgreSQL이 {g}배 빠르다고 하지만, 여기서는 SQLite {s} ms, "
              "PostgreSQL {p} ms로 SQLite가 {inv}배 빨랐습니다. 이유: {why}."},
    "weaker": {
        "en": "{name}: PostgreSQL was faster, but by {r}x, not the guide's {g}x "
              "({s} ms vs {p} ms).",
        "ko": "{name}: PostgreSQL이 빨랐지만 가이드의 {g}배가 아니라 {r}배였습니다 "
              "({s} ms 대 {p} ms)."},
    "stronger": {
        "en": "{name}: PostgreSQL was {r}x faster, more than the guide's {g}x "
              "({s} ms vs {p} ms).",
        "ko": "{name}: PostgreSQL이 {r}배 빨라 가이드의 {g}배보다 컸습니다 ({s} ms 대 {p} ms)."},
    "agrees": {
        "en": "{name}: in line with the guide (measured {r}x, guide {g}x).",
        "ko": "{name}: 가이드와 일치합니다 (측정 {r}배, 가이드 {g}배)."},
    "locks": {
        "en": "Concurrent writes: SQLite's writers hit 'database is locked' {waits} times and "
              "waited their turn (one writer at a time); {errors} writes would have failed "
              "after Django's 5-second timeout. PostgreSQL's writers hit {pg_waits} lock "
              "waits: MVCC lets them insert side by side.",
        "ko": "동시 쓰기: SQLite 작성자들은 'database is locked'를 {waits}번 만나 차례를 "
              "기다렸고(한 번에 한 명만 쓰기), Django 기본 5초 제한을 넘겨 실패했을 쓰기는 "
              "{errors}건입니다. PostgreSQL 작성자들의 잠금 대기는 {pg_waits}번: MVCC 덕분에 "
              "나란히 INSERT합니다."},
    "absolute": {
        "en": "Absolute milliseconds depend on the disk, the CPU and the data ({rows:,} rows in "
              "{table}, SQLite journal mode {journal}); the guide does not say what it "
              "measured on, so compare the ratios.",
        "ko": "절대 ms 값은 디스크, CPU, 데이터({table}의 {rows:,}행, SQLite 저널 모드 "
              "{journal})에 따라 달라지며 가이드는 측정 환경을 밝히지 않으므로 비율을 비교하세요."},
}


def _verdict(ratio: float, guide: float) -> str:
    if ratio < 1:
        return "sqlite_faster"
    if ratio < guide / 2:
        return "weaker"
    if ratio > guide * 2:
        return "stronger"
    return "agrees"


def notes(rows: list[dict], shape, language: str = "en") -> list[str]:
    """One sentence per scenario saying whether the measurement agrees with the guide."""
    out = []
    for r in rows:
        name = r["scenario"]
        ratio = r["ratio"] or 0.0
        kind = _verdict(ratio, r["guide_ratio"])
        out.append(t(TEMPLATES[kind], language, name=label(name, language, shape),
                     g=r["guide_ratio"], r=ratio, s=f"{r['sqlite_ms']:.2f}",
                     p=f"{r['pg_ms']:.2f}", inv=round(1 / ratio, 1) if ratio else "∞",
                     why=t(WHY_SQLITE_WINS[name], language)))
        if name == "concurrent_writes":
            out.append(t(TEMPLATES["locks"], language, waits=r["sqlite_lock_waits"],
                         errors=r["sqlite_locked_errors"], pg_waits=r["pg_lock_waits"]))
    out.append(t(TEMPLATES["absolute"], language, rows=shape.rows, table=shape.table,
                 journal=getattr(shape, "journal", "") or "unknown"))
    return out


def markdown(lines: list[str]):
    """The sentences as a bulleted Markdown block for the notebook: each one literal text
    (a table name from the user's data cannot add markup, HTML or links)."""
    from IPython.display import Markdown

    return Markdown("\n".join(f"- {escape.markdown(line)}" for line in lines))


__all__ = ["SCENARIOS", "DESCRIPTIONS", "WHY_SQLITE_WINS", "TEMPLATES", "notes", "markdown",
           "label", "describe"]
