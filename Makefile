# Two commands on a fresh machine: `make run` and `make test` (only python3 >= 3.11 needed).
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
            command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
            2>/dev/null && { command -v $$p; break; }; done)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PARAMS ?= parameters/training.yaml
ARGS   ?=
# JupyterLab's own options, e.g. LAB_ARGS="--no-browser --port 8899 --IdentityProvider.token=T"
LAB_ARGS ?=
# Jupyter refuses to start as root without --allow-root (containers, fresh VMs)
AS_ROOT := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root,)

.PHONY: run test lab lab-ko lint clean-runs

# A venv with pip. Debian without the python3-venv package has no ensurepip: say so.
$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "error: Python 3.11 or newer is required (python3 --version)." \
	  "Debian/Ubuntu: sudo apt install python3; macOS: brew install python@3.12" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); echo "error: could not create $(VENV) with pip." \
	  "Debian/Ubuntu: sudo apt install python3-venv; then run make again." >&2; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@# bytecode now: a first run (and every run where PYTHONDONTWRITEBYTECODE is set) would
	@# otherwise compile runbook_lib in the CLI and again in every stage's kernel
	$(BIN)/python -m compileall -q runbook_lib
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/runbook run --params $(PARAMS) $(ARGS)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest --basetemp=$(CURDIR)/.pytest-tmp

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/ $(AS_ROOT) $(LAB_ARGS)

# The Korean notebooks (generated from the English ones: python -m runbook_lib.app.notebook_tools sync).
lab-ko: $(STAMP)
	$(BIN)/jupyter lab notebooks/ko/ $(AS_ROOT) $(LAB_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

clean-runs:
	rm -rf runs/
