.DEFAULT_GOAL := help
VENV ?= .venv
BIN := $(VENV)/bin

help: ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

install: ## create .venv with the project and its dev tools
	python3 -m venv $(VENV) && $(BIN)/pip install -q -e '.[dev]'

run: install ## run both apps on the embedded PostgreSQL
	$(BIN)/clicktrail serve

test: install ## run the suite (CLICKTRAIL_TEST_DATABASE_URL selects an external server)
	$(BIN)/pytest

lint: ## ruff and mypy
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy .

schema: ## regenerate schema.graphql from the code
	$(BIN)/strawberry export-schema api.schema:schema --output schema.graphql

ci: ## what CI runs
	bash .ci/run

.PHONY: help install run test lint schema ci
