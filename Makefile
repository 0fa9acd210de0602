# Every target that needs the project builds .venv first, so each one works on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/joinstall demo

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check repro analysis tests benchmarks
	$(BIN)/ruff format --check repro analysis tests benchmarks
	rm -rf .typecheck && mkdir .typecheck
	cp -as $(CURDIR)/repro .typecheck/joinstall && cp -as $(CURDIR)/analysis .typecheck/joinstall/analysis
	cd .typecheck && ../$(BIN)/mypy --config-file ../pyproject.toml -p joinstall

clean:
	rm -rf $(VENV) .typecheck results .pytest_cache .mypy_cache .ruff_cache
