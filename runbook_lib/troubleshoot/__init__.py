"""Stage 05: find what is wrong and fix it.

`probes` (DX1xx live checks of the server, the role, pg_hba.conf, sequences) and `drills`
(training: break the embedded server or the data on purpose, diagnose, fix, restore; the
faults live in `faults` and `data_faults`). The diagnosis itself is `core.diagnose`.
"""

from . import drills, probes

__all__ = ["drills", "probes"]
