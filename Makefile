# Developer entry points. Services run natively (no Docker needed): see scripts/services/.
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: venv services services-stop services-status services-smoke kafka-jars

# Re-run pip only when pyproject.toml changes; never recreate an existing venv.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

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
