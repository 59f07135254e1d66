# Production image: external PostgreSQL (pgvector) and Redis come from DATABASE_URL / REDIS_URL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    HOST=0.0.0.0 PORT=8000 DATA_DIR=/data MEDIA_DIR=/data/media

WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
COPY delete_api ./delete_api
COPY domain ./domain
COPY infra ./infra
COPY rest ./rest
COPY realtime ./realtime
COPY migrations ./migrations
RUN pip install -c constraints.txt . && useradd --create-home --uid 10001 app && mkdir -p /data/media && chown -R app /data

USER app
EXPOSE 8000
VOLUME ["/data"]
CMD ["sh", "-c", "delete-api migrate && delete-api serve"]
