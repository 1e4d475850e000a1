# Run from the repository root. `make run` and `make test` create .venv if missing.
# `make setup` installs the package with the dashboard and notebook extras and fills Solara's
# front-end asset cache from the npm registry (scripts/solara_assets.py): no CDN at run time.
PY_VERSION := $(shell cat .python-version)
PYTHON ?= $(shell command -v python$(PY_VERSION) || (command -v pyenv >/dev/null && pyenv root >/dev/null && echo "$$(pyenv root)/versions/$$(pyenv versions --bare | grep -E '^$(PY_VERSION)(\.|$$)' | tail -1)/bin/python") || echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup assets system-deps notebook dashboard lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev,dashboard,notebook]"
	$(BIN)/python scripts/solara_assets.py
	touch $(STAMP)

setup: $(STAMP)

assets: $(STAMP)
	$(BIN)/python scripts/solara_assets.py

# chromium and a CJK font from Debian's archive (installed when run as root, else reported)
system-deps:
	bash scripts/system_deps.sh

notebook: $(STAMP)
	$(BIN)/jupyter lab notebooks/

dashboard: $(STAMP)
	$(BIN)/etown dashboard scenarios/baseline.yaml

run: $(STAMP)
	$(BIN)/etown run scenarios/baseline.yaml --workers $$(nproc)

test: $(STAMP) system-deps
	$(BIN)/python scripts/solara_assets.py
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q -n auto

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_model.py

clean:
	rm -rf $(VENV) build *.egg-info
