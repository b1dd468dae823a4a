# Developer entry points. Services run natively (no Docker needed): see scripts/services/.
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint venv compiled services services-stop services-status services-smoke kafka-jars

# The daemon on the embedded default (SQLite file + SQL-log bus under ./var) with demo data, on
# http://127.0.0.1:8080. Needs no services at all.
run: venv compiled
	$(VENV)/bin/proud migrate
	PROUD_DEMO_DATA=true $(VENV)/bin/proud run

# Starts the real services (if not running) and runs the whole suite against them. pytest's exit code 5
# ("no tests collected") is a failure here: a green run must have tested something.
test: venv lint compiled
	bash scripts/services/all.sh start
	PROUD_TEST_COMPILED=1 $(PY) -m pytest -p no:cacheprovider -q -ra; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

lint: venv
	$(VENV)/bin/ruff check gateway connectors schemas tests
	$(VENV)/bin/mypy

# Re-run pip only when pyproject.toml changes; never recreate an existing venv. The system packages the
# daemon needs at run time (fonts for the PDF letters) come first; that step is a no-op when they are there.
# A new venv is built on the interpreter scripts/python.sh picks (the distribution's optimised build).
$(VENV)/.installed: pyproject.toml scripts/system-packages.sh scripts/python.sh
	bash scripts/system-packages.sh
	test -x $(PY) || "$$(bash scripts/python.sh)" -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

# The billing hot path compiled with mypyc in place (gateway/compiled.py); a no-op while the build is current.
compiled: venv
	$(PY) -c 'import gateway.compiled as c; c.build()'

# PostgreSQL, Kafka, SFTP and FTP on 127.0.0.1; idempotent (running ones are left as they are).
services: venv
	bash scripts/services/all.sh start

services-stop:
	bash scripts/services/all.sh stop

services-status:
	bash scripts/services/all.sh status

# Real round trip through each service with the gateway's own client libraries.
services-smoke: venv
	$(PY) scripts/services/smoke.py

# Kafka broker jars from Maven Central into var/kafka/libs; no-op when already there.
kafka-jars:
	bash scripts/services/kafka.sh jars
