# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DURATION ?= 0
RATE ?= 200
BENCH_ARGS ?=
MINUTES ?= 10
SEED ?= 1

.PHONY: run test lint bench chaos clean venv browser

venv: $(STAMP)

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

run: $(STAMP)  ## the whole pipeline with a live table; DURATION=60 stops after a minute
	$(PY) -m alphapanda.pipeline --duration $(DURATION) --rate $(RATE)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

browser:  ## Debian's chromium for the dashboard's browser test (Playwright never downloads a browser here)
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

test: $(STAMP) browser lint  ## lint, then the full suite on real Tansu, Redis, PostgreSQL and Celery workers
	$(PY) -m pytest

bench: $(STAMP)  ## ceilings, the pipeline at rising load (paper, paper+zerodha), latency per stage, lag, memory, ticks into strategies, plots; BENCH_ARGS=--quick for <2 min
	$(PY) -m bench $(BENCH_ARGS)

chaos: $(STAMP)  ## the pipeline under load with seeded random kills and freezes; prints lost/duplicated/out of order
	$(PY) -m alphapanda.chaos --minutes $(MINUTES) --seed $(SEED)

clean:
	rm -rf .run test-output .pytest_cache
