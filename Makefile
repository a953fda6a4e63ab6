# dcs-backup: `make run` invokes the function on a sample timer event; `make test` runs all checks;
# `make demo` walks through the whole lifecycle against the emulators.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FUZZ_EXAMPLES ?= 5000

.PHONY: help run demo test lint typecheck fuzz bench bench-export package clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /\1\t/' | awk -F'\t' '{printf "  %-13s %s\n", $$1, $$2}'

$(BIN)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(BIN)/.dev: requirements-dev.txt requirements.txt $(BIN)/.runtime
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: $(BIN)/.runtime ## set up, then invoke the function on events/timer.json (the emulator unless credentials are set)
	NO_PROXY=127.0.0.1,localhost $(BIN)/python -m dcs_backup invoke events/timer.json

demo: $(BIN)/.runtime ## the lifecycle on the bundled DCS and OBS emulators: back up, wait, export, prune, restore, drill, audit
	NO_PROXY=127.0.0.1,localhost $(BIN)/python -m devkit.story

lint: $(BIN)/.dev ## ruff: lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.dev ## mypy, strict
	$(BIN)/mypy

# Redis's own file checkers (Debian's redis-tools): the tests hold the emulator's backup files against them.
$(BIN)/.redis-tools: $(BIN)/.runtime
	command -v redis-check-rdb >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-tools)
	touch $@

test: lint typecheck $(BIN)/.redis-tools ## set up, then lint, type-check and run the whole test suite
	NO_PROXY=127.0.0.1,localhost $(BIN)/python -m pytest

fuzz: $(BIN)/.dev ## the property-based tests with many more examples (FUZZ_EXAMPLES)
	NO_PROXY=127.0.0.1,localhost FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/functional/triggers/test_fuzz.py tests/unit/contracts/test_request.py

clean: ## remove the virtualenv, build output and caches
	rm -rf $(VENV) dist build .mypy_cache .ruff_cache .hypothesis

# CPython 3.12, the function's runtime: pyenv's when present, else the one on PATH; when neither is
# there it is empty, and scripts/package.py says how to provide one.
PYTHON312 ?= $(shell p=$$(pyenv prefix 3.12 2>/dev/null) && echo "$$p/bin/python3.12" || command -v python3.12)

package: $(BIN)/.runtime ## build the deployment zip (needs CPython 3.12)
	$(BIN)/python scripts/package.py --python312 "$(PYTHON312)"

# The function side by side with the SDK's sample code, the import floor and the raw SDK (bench/compare.py).
bench: package ## cold start, memory, warm and fan-out figures beside the SDK's sample code
	NO_PROXY=127.0.0.1,localhost $(BIN)/python -m bench.compare

# The export on a throttled link and bucket beside each leg alone and rclone copyurl (bench/export_link.py).
bench-export: $(BIN)/.dev ## export speed and memory on a throttled loopback link and bucket, beside rclone
	NO_PROXY=127.0.0.1,localhost $(BIN)/python -m bench.export_link
