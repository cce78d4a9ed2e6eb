from runbook_lib.core import db


def test_fresh_db_connects_as_app_role(fresh_db):
    with db.connection(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("select current_user, current_database()")
        assert cur.fetchone() == (fresh_db.db_user, fresh_db.db_name)
