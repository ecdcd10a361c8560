# The whole set-up on a fresh machine: `make test` or `make demo`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PROJECT_FILES := pyproject.toml adapters/langgraph/pyproject.toml adapters/crewai/pyproject.toml
# CrewAI would otherwise send telemetry to its vendor from every crew the tests, demo and benchmarks run.
export CREWAI_DISABLE_TELEMETRY := true
export CREWAI_DISABLE_TRACKING := true

.PHONY: test lint typecheck unit services demo demo-traced quickstart bench clean

$(STAMP): $(PROJECT_FILES)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		-e '.[dev,demo,sqlite,postgres,redis,grpc,tracing,costs,oauth]' -e 'adapters/langgraph[postgres]' -e adapters/crewai
	@touch $(STAMP)

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# Postgres and Redis for the durable-task tests; each test starts its own on a free port.
services:
	@scripts/install-services.sh

unit: $(STAMP) services
	$(BIN)/pytest

demo: $(STAMP)
	$(BIN)/python demos/mesh/run.py

# The demo with its trace in an Arize Phoenix it starts (docs/observability.md).
demo-traced: $(STAMP)
	$(BIN)/python demos/mesh/run.py --phoenix

quickstart: $(STAMP)
	$(BIN)/python demos/quickstart/run.py

# vLLM runs only for its own benchmark, and is stopped even when that fails.
bench: $(STAMP)
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[bench]'
	$(BIN)/python bench/roundtrip.py
	$(BIN)/python bench/queue_workers.py
	$(BIN)/python bench/tracing_overhead.py
	$(BIN)/a2a-bridge backend up
	$(BIN)/python bench/vllm_passthrough.py --concurrency 1 16 32 --rounds 3 \
		&& $(BIN)/python bench/vllm_queue.py --concurrency 16 32 --rounds 3 --workers 2; status=$$?; \
		$(BIN)/a2a-bridge backend down; exit $$status
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
