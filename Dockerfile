# Circolo: one image, two roles. `docker run IMAGE web` (default) or `docker run IMAGE worker`.

# --- build: dependencies into a virtual environment, translations compiled ---------------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY setup.cfg pyproject.toml README.md ./
COPY middleware ./middleware
COPY lti ./lti
RUN pip install . && pip uninstall -y circolo
COPY babel.cfg ./
COPY scripts ./scripts
RUN python scripts/i18n.py compile

# --- runtime: the venv and the source, run as an unprivileged user -------------------------------
FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CIRCOLO_ENV=production \
    CIRCOLO_INSTANCE_PATH=/var/lib/circolo \
    CIRCOLO_BIND=0.0.0.0:8000
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system circolo \
 && useradd --system --gid circolo --home-dir /var/lib/circolo --create-home circolo
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=root:root wsgi.py setup.cfg ./
COPY --chown=root:root middleware ./middleware
COPY --from=build /src/middleware/translations ./middleware/translations
COPY --chown=root:root lti ./lti
COPY --chown=root:root migrations ./migrations
COPY --chown=root:root deploy/gunicorn.conf.py ./deploy/gunicorn.conf.py
COPY --chown=root:root scripts/entrypoint.sh ./scripts/entrypoint.sh
USER circolo
VOLUME ["/var/lib/circolo"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD curl --fail --silent http://127.0.0.1:8000/healthz || exit 1
ENTRYPOINT ["/app/scripts/entrypoint.sh"]
CMD ["web"]
