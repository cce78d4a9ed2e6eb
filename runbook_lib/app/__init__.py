"""The ways a person drives the runbook, on top of the stage packages.

`cli` (the `runbook` command), `runner` (`runbook run`: the notebooks headlessly through
papermill), `report` (report.html), `widgets` (the interactive settings form), `training`
(per-trainee workspaces), `server_cli` (`runbook server`), `overview` (stage 00's tables),
`notebook_tools` (authoring: the shared parameters cell), `history` (`runbook history`: the
record of runs), `resume` (`runbook run --resume`: killed runs found, where to continue).
Import the modules by name.
"""

__all__ = ["cli", "history", "notebook_tools", "overview", "report", "resume", "runner",
           "server_cli", "training", "widgets"]
