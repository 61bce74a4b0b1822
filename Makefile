# Everything a fresh machine needs: `make demo` harvests the bundled demo catalog, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)

.PHONY: demo test system-deps benchmarks

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

demo: $(STAMP)
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

test: $(STAMP) system-deps
	$(VENV)/bin/python -m pytest -q

benchmarks: $(STAMP)
	for script in benchmarks/*_benchmark.py; do $(VENV)/bin/python -m benchmarks.$$(basename $$script .py) || exit 1; done
