"""Monitoring queries as DataFrames: the guide's three, fixed, and the ones operators need.

The guide's table-size query builds `schemaname||'.'||tablename`, which breaks on a table
named with capitals, spaces or a reserved word; here every name goes through `format('%I')`.
Its Django `OPTIONS` `log_queries`/`log_slow_queries` do not exist for PostgreSQL (psycopg2
rejects them as invalid connection options); the server's `log_min_duration_statement` and
the `pg_stat_statements` extension are what record slow queries.
"""

from __future__ import annotations

from ..core import db
from ..core.i18n import t
from ..core.results import Check
from . import wording as w

__all__ = ["database_size", "table_sizes", "connections", "slow_queries", "cache_hit",
           "unused_indexes", "fk_without_index", "sequences", "checks", "ENABLE_STATEMENTS",
           "slow_query_settings"]

ENABLE_STATEMENTS = {
    "en": "In postgresql.conf: shared_preload_libraries = 'pg_stat_statements' (restart the "
          "server), then as a superuser in the database: CREATE EXTENSION pg_stat_statements; "
          "(on RDS/Cloud SQL: set it in the parameter group / database flags).",
    "ko": "postgresql.conf에 shared_preload_libraries = 'pg_stat_statements'를 넣고 (서버 "
          "재시작), 데이터베이스에서 슈퍼유저로 CREATE EXTENSION pg_stat_statements; 실행 "
          "(RDS/Cloud SQL: 파라미터 그룹 / 데이터베이스 플래그에서 설정)."}

SQL = {
    "database_size": """
        SELECT current_database() AS database,
               pg_size_pretty(pg_database_size(current_database())) AS size,
               pg_database_size(current_database()) AS bytes""",
    "table_sizes": """
        SELECT schemaname, tablename,
               pg_size_pretty(pg_total_relation_size(format('%I.%I', schemaname, tablename)))
                   AS size,
               pg_total_relation_size(format('%I.%I', schemaname, tablename)) AS bytes,
               (SELECT n_live_tup FROM pg_stat_user_tables s
                 WHERE s.schemaname = t.schemaname AND s.relname = t.tablename) AS live_rows
        FROM pg_tables t
        WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
        ORDER BY pg_total_relation_size(format('%I.%I', schemaname, tablename)) DESC""",
    "connections": """
        SELECT count(*) FILTER (WHERE backend_type = 'client backend') AS connections,
               count(*) FILTER (WHERE state = 'active' AND backend_type = 'client backend')
                   AS active,
               count(*) FILTER (WHERE state = 'idle in transaction') AS idle_in_transaction,
               current_setting('max_connections')::int AS max_connections,
               current_setting('superuser_reserved_connections')::int AS reserved
        FROM pg_stat_activity""",
    "long_running": """
        SELECT pid, usename AS role, state, now() - query_start AS running_for,
               left(query, 120) AS query
        FROM pg_stat_activity
        WHERE state <> 'idle' AND pid <> pg_backend_pid() AND query_start IS NOT NULL
          AND now() - query_start > interval '1 second'
        ORDER BY query_start""",
    "statements": """
        SELECT calls, round(total_exec_time::numeric, 1) AS total_ms,
               round(mean_exec_time::numeric, 2) AS mean_ms, rows, left(query, 120) AS query
        FROM pg_stat_statements
        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        ORDER BY mean_exec_time DESC LIMIT 10""",
    "cache_hit": """
        SELECT 'database' AS scope, current_database() AS name, blks_hit AS hits,
               blks_read AS reads,
               round(blks_hit::numeric / nullif(blks_hit + blks_read, 0), 4) AS hit_ratio
        FROM pg_stat_database WHERE datname = current_database()
        UNION ALL
        SELECT 'table', format('%I.%I', schemaname, relname), heap_blks_hit, heap_blks_read,
               round(heap_blks_hit::numeric / nullif(heap_blks_hit + heap_blks_read, 0), 4)
        FROM pg_statio_user_tables
        ORDER BY 1, 4 DESC""",
    "unused_indexes": """
        SELECT format('%I.%I', s.schemaname, s.relname) AS table_name,
               s.indexrelname AS index_name, s.idx_scan AS scans,
               pg_size_pretty(pg_relation_size(s.indexrelid)) AS size
        FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
        WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary
        ORDER BY pg_relation_size(s.indexrelid) DESC""",
    "fk_without_index": """
        SELECT format('%I.%I', n.nspname, c.relname) AS table_name, k.conname AS constraint,
               (SELECT string_agg(a.attname, ', ' ORDER BY x.n)
                  FROM unnest(k.conkey) WITH ORDINALITY x(att, n)
                  JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = x.att)
                   AS columns,
               format('CREATE INDEX ON %I.%I (%s);', n.nspname, c.relname,
                      (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY x.n)
                         FROM unnest(k.conkey) WITH ORDINALITY x(att, n)
                         JOIN pg_attribute a ON a.attrelid = k.conrelid
                          AND a.attnum = x.att)) AS fix
        FROM pg_constraint k
        JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE k.contype = 'f' AND NOT EXISTS (
            SELECT 1 FROM pg_index i WHERE i.indrelid = k.conrelid
               AND (i.indkey::int2[])[0:cardinality(k.conkey) - 1] @> k.conkey
               AND (i.indkey::int2[])[0:cardinality(k.conkey) - 1] <@ k.conkey)
        ORDER BY 1, 2""",
    "sequences": """
        SELECT format('%I.%I', s.schemaname, s.sequencename) AS sequence,
               coalesce(format('%I.%I', tn.nspname, t.relname) || '.' || quote_ident(a.attname),
                        '') AS used_by,
               coalesce(format_type(a.atttypid, a.atttypmod), s.data_type::text) AS column_type,
               s.last_value,
               least(s.max_value, CASE format_type(a.atttypid, NULL)
                   WHEN 'smallint' THEN 32767 WHEN 'integer' THEN 2147483647
                   ELSE s.max_value END) AS limit_value
        FROM pg_sequences s
        JOIN pg_class sc ON sc.relname = s.sequencename
        JOIN pg_namespace sn ON sn.oid = sc.relnamespace AND sn.nspname = s.schemaname
        LEFT JOIN pg_depend d ON d.objid = sc.oid AND d.classid = 'pg_class'::regclass
             AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
        LEFT JOIN pg_class t ON t.oid = d.refobjid
        LEFT JOIN pg_namespace tn ON tn.oid = t.relnamespace
        LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        ORDER BY 1""",
}


def query(settings, name: str, dbname: str | None = None):
    """Run one of the named queries; the result as a DataFrame."""
    import pandas as pd

    with db.connection(settings, dbname=dbname) as conn, conn.cursor() as cur:
        cur.execute(SQL[name])
        columns = [c.name for c in cur.description]
        return pd.DataFrame(cur.fetchall(), columns=columns)


def database_size(settings):
    """The guide's `pg_database_size`, for the application database."""
    return query(settings, "database_size")


def table_sizes(settings):
    """The guide's table-size query, with identifiers quoted; tables with indexes and TOAST."""
    return query(settings, "table_sizes")


def connections(settings):
    """Connections in use against max_connections (the guide counts pg_stat_activity)."""
    frame = query(settings, "connections")
    usable = frame["max_connections"] - frame["reserved"]
    frame["used_percent"] = (100 * frame["connections"] / usable).round(1)
    return frame


def _setting(settings, name: str) -> str:
    with db.connection(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT current_setting(%s)", [name])
        return cur.fetchone()[0]


def statements_available(settings) -> bool:
    with db.connection(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
        return cur.fetchone() is not None


def available_extension(settings) -> bool:
    with db.connection(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements'")
        return cur.fetchone() is not None


def slow_query_settings(settings):
    """Where slow queries are recorded on this server, and how to turn it on."""
    import pandas as pd

    threshold = _setting(settings, "log_min_duration_statement")
    installed = statements_available(settings)
    lang = settings.language
    say = {k: t(v, lang) for k, v in SLOW_TEXT.items()}
    return pd.DataFrame([
        {"setting": "log_min_duration_statement", "value": threshold, "meaning": say["threshold"]},
        {"setting": "pg_stat_statements installed", "value": say["yes"] if installed else say["no"],
         "meaning": say["totals"] if installed else t(ENABLE_STATEMENTS, lang)},
        {"setting": "pg_stat_statements available", "value":
         say["yes"] if available_extension(settings) else say["contrib"],
         "meaning": say["shipped"]},
    ])


SLOW_TEXT = {
    "threshold": {"en": "statements slower than this are logged; -1 = never. Set it with ALTER "
                        "DATABASE <db> SET log_min_duration_statement = '500ms' (superuser) or "
                        "in postgresql.conf",
                  "ko": "이보다 느린 문장을 기록함; -1 = 기록 안 함. ALTER DATABASE <db> SET "
                        "log_min_duration_statement = '500ms'(슈퍼유저)나 postgresql.conf로 설정"},
    "totals": {"en": "per-statement totals and means", "ko": "문장별 합계와 평균"},
    "shipped": {"en": "shipped with the server's contrib modules",
                "ko": "서버의 contrib 모듈에 포함됨"},
    "yes": {"en": "yes", "ko": "예"},
    "no": {"en": "no", "ko": "아니요"},
    "contrib": {"en": "no (install postgresql-contrib)", "ko": "아니요 (postgresql-contrib 설치)"},
}


def slow_queries(settings):
    """pg_stat_statements' slowest statements when installed, else what runs longer than 1 s."""
    name = "statements" if statements_available(settings) else "long_running"
    return query(settings, name)


def cache_hit(settings):
    """Share of reads served from shared buffers (aim for > 0.99 once warmed up)."""
    return query(settings, "cache_hit")


def unused_indexes(settings):
    """Non-unique indexes never scanned since the statistics were reset."""
    return query(settings, "unused_indexes")


def fk_without_index(settings):
    """Foreign-key columns with no index starting with them (slow joins, slow deletes)."""
    return query(settings, "fk_without_index")


def sequences(settings):
    """How far each sequence is toward its limit (the column type's, when smaller)."""
    frame = query(settings, "sequences")
    frame["used_percent"] = (100 * frame["last_value"].fillna(0).astype(float)
                             / frame["limit_value"].astype(float)).round(4)
    return frame


def checks(settings) -> list[Check]:
    """Warnings worth acting on: connections, sequences, unindexed foreign keys."""
    out = []
    conn = connections(settings).iloc[0]
    out.append(Check("OP020", w.name(settings, "OP020"), "warn" if conn.used_percent > 80 else "ok",
                     w.say(settings, "connections", used=int(conn.connections),
                         usable=int(conn.max_connections - conn.reserved),
                         percent=conn.used_percent),
                     w.say(settings, "pooler") if conn.used_percent > 80 else ""))
    seqs = sequences(settings)
    near = seqs[seqs["used_percent"] > 75]
    out.append(Check("OP021", w.name(settings, "OP021"), "warn" if len(near) else "ok",
                     w.say(settings, "sequences", n=len(near), total=len(seqs)),
                     w.say(settings, "bigint") if len(near) else ""))
    fks = fk_without_index(settings)
    out.append(Check("OP022", w.name(settings, "OP022"), "warn" if len(fks) else "ok",
                     w.say(settings, "fks", n=len(fks)),
                     "; ".join(fks["fix"].head(3)) if len(fks) else ""))
    return out
