# Guichet — `make run` serves the demo, `make test` runs the whole test suite.
# Both create what they need first: the virtualenv, Python and npm packages, the portal's
# static assets and the compiled translations.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
USWDS := node_modules/@uswds/uswds/dist
PORTAL_ASSETS := plugins/public_forms/static/uswds
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test bench install assets translations messages lint format clean

run: install
	$(FLASK) guichet init --no-admin
	$(FLASK) guichet demo
	@echo "Guichet is served on http://$(HOST):$(PORT) (Ctrl+C to stop)"
	$(FLASK) run --host $(HOST) --port $(PORT)

test: install
	node --test tests/js/*.test.mjs
	$(BIN)/pytest

# Benchmarks against a seeded PostgreSQL database, gunicorn, Redis and a Celery worker on
# loopback (docs/performance.md): `make bench BENCH_ARGS="--seed 1000000"`, or "--quick".
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

install: $(VENV)/.installed assets translations

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

assets: $(PORTAL_ASSETS)/.copied

$(PORTAL_ASSETS)/.copied: node_modules/.installed
	rm -rf $(PORTAL_ASSETS)
	mkdir -p $(PORTAL_ASSETS)
	cp -r $(USWDS)/css $(USWDS)/fonts $(USWDS)/img $(USWDS)/js $(PORTAL_ASSETS)/
	touch $@

translations: $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -d translations 2>&1 | grep -v "^compiling" || true

# For developers: gather new strings from the source into both catalogues.
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k _l --no-location --sort-output \
		--project Guichet -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --width 100 --no-fuzzy-matching

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) node_modules $(PORTAL_ASSETS) instance
	find translations -name '*.mo' -delete
