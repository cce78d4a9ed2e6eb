"""Stage 08: running on PostgreSQL: backups proven by a restore, monitoring, deployment.

`backup` (pg_dump, restore into a scratch database, compared table by table and by the
validation stage), `backup_script` (the retention script and its drill, the Django JSON
backup), `monitor` (size, connections, slow queries, cache, indexes, sequences), `deploy`
(docker-compose and cloud settings), `rollback` (the guide's rollback plan as checks).
"""

from . import backup, backup_script, deploy, monitor, rollback

__all__ = ["backup", "backup_script", "deploy", "monitor", "rollback"]
