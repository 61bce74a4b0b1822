# Everything a fresh machine needs: `make demo` harvests the bundled demo catalog, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
CHECKSUM := $(shell cksum < pyproject.toml | cut -d' ' -f1)
# What is installed, for this pyproject.toml: the program alone (the demo), or with the test extras.
INSTALLED := $(VENV)/.installed-app-$(CHECKSUM)
INSTALLED_TEST := $(VENV)/.installed-test-$(CHECKSUM)

.PHONY: demo test test-fast lint system-deps benchmarks

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip

$(INSTALLED): pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -e .
	rm -f $(VENV)/.installed-app-* && touch $@

$(INSTALLED_TEST): pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-app-* $(VENV)/.installed-test-* && touch $@ $(INSTALLED)

demo: $(INSTALLED)
	$(VENV)/bin/harvest run fixtures/demo/catalog.ttl --backend dcat

# The servers the tests start themselves: redis-server and PostgreSQL, from Debian; and Debian's Chromium, which
# the console's browser tests drive (Playwright's own browser download cannot work here).
system-deps:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
		echo "Installing$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

test: $(INSTALLED_TEST) system-deps
	$(VENV)/bin/python -m pytest -q

# The tests that start nothing (tests/tiers.py): seconds, no servers, no system packages.
test-fast: $(INSTALLED_TEST)
	$(VENV)/bin/python -m pytest -q -m "not servers and not udata and not browser and not slow"

# Lint (ruff: pyflakes, pycodestyle, import order, pyupgrade, bugbear) and types (mypy with the pydantic plugin);
# both are configured in pyproject.toml.
lint: $(INSTALLED_TEST)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

benchmarks: $(INSTALLED_TEST)
	for script in benchmarks/*_benchmark.py; do $(VENV)/bin/python -m benchmarks.$$(basename $$script .py) || exit 1; done
