# obsapp on its embedded default: SQLite, a local media store and in-process jobs, all under /data.
# Stage 1 builds the wheel from the repository; stage 2 installs that wheel (not the source tree) with the
# versions pinned in requirements.lock, so the image runs exactly what `make test` tested.

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY requirements.lock pyproject.toml README.md ./
COPY obsapp ./obsapp
RUN pip install --no-cache-dir -c requirements.lock build setuptools \
 && python -m build --wheel --no-isolation --outdir /dist

FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg fontconfig fonts-noto-core fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/*

# Only what the app needs at run time (the lock's test tools are constraints here, not installed).
COPY requirements.lock /tmp/requirements.lock
COPY --from=build /dist/ /tmp/dist/
COPY scripts/face_model.py /tmp/face_model.py
RUN pip install --no-cache-dir -c /tmp/requirements.lock /tmp/dist/obsapp-*.whl \
 && pip check \
 && python /tmp/face_model.py \
 && rm -rf /tmp/dist /tmp/requirements.lock /tmp/face_model.py \
 && useradd --system --create-home --home-dir /home/obsapp obsapp \
 && mkdir -p /data && chown obsapp /data

WORKDIR /home/obsapp
ENV OBSAPP_INSTANCE_PATH=/data/instance \
    OBSAPP_MEDIA_ROOT=/data/media \
    OBSAPP_ENV=production \
    OBSAPP_LOG_FORMAT=json \
    PYTHONUNBUFFERED=1
USER obsapp
VOLUME ["/data"]
EXPOSE 5000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:5000/healthz').status != 200)"
CMD ["sh", "-c", "obsapp init && exec obsapp serve --host 0.0.0.0 --port 5000"]
