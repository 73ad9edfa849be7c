# Verity server image for the scaled deployment (docker-compose.yml).
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg libchromaprint-tools && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY verity verity
COPY api api
COPY ingest ingest
COPY storage storage
COPY migrations migrations
RUN pip install --no-cache-dir .
ENV VERITY_DATA_DIR=/data
EXPOSE 8000
# exec: `verity serve` itself gets the stop signal, so it shuts down cleanly (and saves its index).
CMD ["sh", "-c", "verity db upgrade && exec verity serve --host 0.0.0.0 --port 8000"]
