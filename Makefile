# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run serve test test-fast lint format check venv clean bench

$(STAMP): requirements.txt requirements-dev.txt
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

## Serve the app on http://127.0.0.1:8000 with the demo data, on DATABASE_URL when a server
## answers there, else on the embedded PostgreSQL in var/postgres (started here, stopped with the app).
## Another address: make run ADDRESS=127.0.0.1:8001
ADDRESS ?= 127.0.0.1:8000
run: $(STAMP)
	$(BIN)/python -m registry.embedded_db $(MAKE) --no-print-directory serve

## What `make run` runs, on DATABASE_URL (or an embedded server already running).
serve: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	@echo "Open http://$(ADDRESS)/login/  (admin: http://$(ADDRESS)/admin/, API docs: http://$(ADDRESS)/api/docs/)"
	$(BIN)/python manage.py runserver $(ADDRESS)

## Test worker processes (pytest-xdist), each on its own test database; 0 runs the suite in one process.
TEST_WORKERS ?= 2
WORKERS := -n $(TEST_WORKERS)

## The whole suite on PostgreSQL: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/registry)
## when a server answers there, else the embedded one in var/postgres.
test: $(STAMP)
	$(BIN)/pytest --create-db $(WORKERS)

## The suite without the slow tests, for a quick local run.
test-fast: $(STAMP)
	$(BIN)/pytest -m "not slow" $(WORKERS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Django's own checks, production settings included.
check: $(STAMP)
	$(BIN)/python manage.py check
	DJANGO_DEBUG=0 DJANGO_SECRET_KEY=ci-$$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n') \
		DJANGO_ALLOWED_HOSTS=registry.example.gov.cn $(BIN)/python manage.py check --deploy --fail-level WARNING
	$(BIN)/python manage.py makemigrations --check --dry-run

clean:
	if [ -x $(BIN)/python ]; then $(BIN)/python -m registry.embedded_db --stop; fi
	rm -rf $(VENV) var .pytest_cache .ruff_cache

## Benchmarks on a scratch PostgreSQL database (BENCH_DATABASE_URL); figures printed and saved in bench/results/.
bench: $(STAMP)
	$(BIN)/python -m bench.run
