# proud gateway image. Used by docker-compose.yml (service "gateway").
FROM python:3.12-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# DejaVu fonts: the welcome-letter PDFs embed them for Czech diacritics.
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# .dockerignore keeps .venv/, var/ and caches out of the build context.
COPY . .
RUN pip install . \
 && useradd --system --create-home --uid 10001 proud \
 && mkdir -p /app/var \
 && chown proud:proud /app/var

# Never run the service as root; var/ is its data_dir (SQLite fallback, local state).
USER proud
EXPOSE 8080
CMD ["proud", "run"]
