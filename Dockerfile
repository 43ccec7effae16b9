# obsapp on its embedded default: SQLite, a local media store and in-process jobs, all under /data.
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg fontconfig fonts-noto-core fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY obsapp ./obsapp
COPY migrations ./migrations
RUN pip install --no-cache-dir -e . \
 && useradd --system --create-home --home-dir /home/obsapp obsapp \
 && mkdir -p /data && chown obsapp /data

ENV OBSAPP_INSTANCE_PATH=/data/instance \
    OBSAPP_MEDIA_ROOT=/data/media \
    OBSAPP_ENV=production \
    PYTHONUNBUFFERED=1
USER obsapp
VOLUME ["/data"]
EXPOSE 5000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:5000/healthz').status != 200)"
CMD ["sh", "-c", "obsapp init && exec obsapp serve --host 0.0.0.0 --port 5000"]
