# The two commands a newcomer needs (see README):
#   make demo   sets up .venv and runs the daily job on the bundled real data
#   make test   sets up .venv and runs the whole test suite (lint, types, layers, tests)
SHELL := /bin/bash
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv
# compile bytecode at install: imports stay fast even where PYTHONDONTWRITEBYTECODE is set
export UV_COMPILE_BYTECODE := 1
DEMO_OUT ?= out/demo
ARREARS_TEST_PG_URL ?= postgresql+psycopg://root@127.0.0.1:5432/test
export ARREARS_TEST_PG_URL

.PHONY: demo test env lint bench clean

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

env: $(UV)
	$(UV) sync --frozen --quiet

demo: env
	.venv/bin/arrears demo --out $(DEMO_OUT)

lint: env
	.venv/bin/ruff check src tests bench
	.venv/bin/ruff format --check src tests bench
	.venv/bin/mypy
	.venv/bin/lint-imports

test: lint
	.venv/bin/pytest -n 2 --dist loadgroup

bench: env
	.venv/bin/python bench/bench_daily.py

clean:
	rm -rf .venv $(TOOLS) out .pytest_cache .mypy_cache .ruff_cache
