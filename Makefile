# Two commands: `make run` (service on embedded defaults) and `make test` (the whole suite).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
FRESH  ?=
WORDPRESS_ZIP ?= dist/gmail-oneclick.zip

.PHONY: run test lint bench clean wordpress-plugin

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed

# With no Google client configured, run against the bundled Google sandbox.
run: $(VENV)/.installed
	@if [ -z "$$GMAIL_ONECLICK_GOOGLE_CLIENT_ID" ] && [ -z "$$GMAIL_ONECLICK_SANDBOX" ]; then \
	  export GMAIL_ONECLICK_SANDBOX=1; \
	  echo "No Google client configured: using the bundled Google sandbox (development only)." >&2; \
	fi; \
	$(BIN)/gmail-oneclick db upgrade >/dev/null && \
	exec $(BIN)/gmail-oneclick serve --port $(PORT) $(if $(filter-out 0,$(FRESH)),--fresh)

test: $(VENV)/.installed-test
	@scripts/system-deps.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check gmail_oneclick token_store tests bench
	$(BIN)/mypy gmail_oneclick token_store
	$(BIN)/lint-imports
	@scripts/php-lint.sh wordpress

# The plugin as WordPress's "Upload Plugin" takes it: dist/gmail-oneclick.zip, reproducible.
wordpress-plugin:
	$(PYTHON) scripts/build_wordpress_zip.py --output $(WORDPRESS_ZIP)

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) instance test-output .pytest_cache .mypy_cache .ruff_cache
