# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint format check venv clean bench

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

## Serve the app on http://127.0.0.1:8000 with the demo data (embedded SQLite in var/).
run: $(STAMP)
	env -u DATABASE_URL $(BIN)/python manage.py migrate --noinput
	env -u DATABASE_URL $(BIN)/python manage.py load_demo
	@echo "Open http://127.0.0.1:8000/  (admin: http://127.0.0.1:8000/admin/, API docs: http://127.0.0.1:8000/api/docs/)"
	env -u DATABASE_URL $(BIN)/python manage.py runserver 127.0.0.1:8000

## Test worker processes (pytest-xdist), each on its own test database; 0 runs the suite in one process.
TEST_WORKERS ?= 2
WORKERS := -n $(TEST_WORKERS)

## The whole suite on PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/registry).
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
	rm -rf $(VENV) var .pytest_cache .ruff_cache

## Benchmarks on a scratch PostgreSQL database (BENCH_DATABASE_URL); figures printed and saved in bench/results/.
bench: $(STAMP)
	$(BIN)/python -m bench.run
