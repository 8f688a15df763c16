# Tasks for treatykg. `make` alone lists them. Each works without make too: see the README.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 7878

.DEFAULT_GOAL := help
.PHONY: help setup validate queries test test-engines fuzz lint serve docs dist

help: ## list the tasks
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: ## create .venv and install treatykg with the test and lint tools
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -e '.[dev]'

validate: ## check the ontology and graph against the SHACL shapes
	$(BIN)/treatykg validate

queries: ## run every stored query
	$(BIN)/treatykg query run-all

test: ## run the tests (the README's test command)
	$(BIN)/python -m pytest -q

test-engines: ## compare fast validation with pyshacl on every shape fixture and all shapes (slow)
	TREATYKG_ENGINES=all $(BIN)/python -m pytest -q tests/test_engines.py

fuzz: ## the property-based tests with many cases (over 10,000; about 15 minutes)
	TREATYKG_FUZZ=1 $(BIN)/python -m pytest -q tests/test_properties.py tests/test_reasoning.py \
		--hypothesis-show-statistics

lint: ## ruff lint and format check
	$(BIN)/ruff check scripts tests
	$(BIN)/ruff format --check scripts tests

serve: ## serve the site at http://127.0.0.1:7878/ and SPARQL at /query (PORT=N for another port)
	$(BIN)/treatykg serve --port $(PORT)

docs: ## build the static site into dist/site/ (open dist/site/index.html)
	$(BIN)/treatykg docs --out dist/site

dist: ## build the wheel and the TriG and N-Quads exports into dist/
	$(BIN)/pip wheel --no-deps --wheel-dir dist .
	$(BIN)/treatykg export -o dist/treatykg.trig
	$(BIN)/treatykg export -o dist/treatykg.nq
