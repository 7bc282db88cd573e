# Circolo: `make run` serves it on the embedded default; `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export CIRCOLO_PUBLIC_BASE_URL ?= http://127.0.0.1:8000

.PHONY: install run test test-fast e2e lint translations demo clean moodle-plugin check-moodle-plugin \
	e2e-plugin

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)
	$(BIN)/python scripts/i18n.py compile >/dev/null

## Serve Circolo on http://127.0.0.1:8000 with its worker (SQLite + SQLite queue); Ctrl-C stops both.
run: install
	PATH="$(CURDIR)/$(BIN):$$PATH" CIRCOLO_BIND=127.0.0.1:8000 scripts/entrypoint.sh all

## Install what the tests need (Python packages, Debian's chromium, axe-core) and run them all.
test: install
	scripts/test-deps.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## The fast tier while developing: no browser, no live HTTP servers, nothing slow (under a minute).
test-fast: install
	$(BIN)/python -m pytest -m "not browser and not live_http and not slow" -n 2 -q $(PYTEST_ARGS)

## The real-Moodle tier (tests/e2e): MOODLE_SRC=<a Moodle source tarball or folder> make e2e
e2e:
ifeq ($(strip $(MOODLE_SRC)),)
	@echo "make e2e: skipped: MOODLE_SRC is not set (a Moodle source tarball or folder, see README)"
else
	@$(MAKE) --no-print-directory install
	scripts/test-deps.sh
	scripts/e2e-deps.sh
	$(BIN)/python -m pytest tests/e2e -m moodle $(PYTEST_ARGS)
endif

## See Circolo without a Moodle: the Moodle doubles serve a generated Italian course; two links.
demo: install
	$(BIN)/python scripts/demo.py

lint: install
	$(BIN)/ruff check .

translations: install
	$(BIN)/python scripts/i18n.py update
	$(BIN)/python scripts/i18n.py check

## The Moodle plugin IT installs: dist/local_circolo-<release>.zip (top folder circolo/).
moodle-plugin: check-moodle-plugin
	$(PYTHON) scripts/build-moodle-plugin.py dist

## The plugin path on a real Moodle: MOODLE_SRC=<Moodle tarball or folder> make e2e-plugin
e2e-plugin: install
	scripts/test-deps.sh
	$(BIN)/python -m pytest tests/e2e_plugin -s $(PYTEST_ARGS)

## Every PHP file of the plugin passes php -l; its English and Italian strings match.
check-moodle-plugin:
	scripts/check-moodle-plugin.sh

clean:
	rm -rf $(VENV) instance .pytest_cache test-output
