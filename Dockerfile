# Circolo: one image, two roles. `docker run IMAGE web` (default) or `docker run IMAGE worker`.
# scripts/container-check.sh builds this file and runs both roles (CI does, on every run).

# Both stages start from this base; a build argument so IT can pin a digest or a mirror's copy.
ARG BASE_IMAGE=python:3.11-slim-bookworm

# --- build: dependencies into a virtual environment, then the source, translations compiled ----
FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Where a build must reach PyPI through a proxy or a private index (scripts/container-check.sh
# passes the host's); unset by default, and none of them lands in the final image.
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG PIP_TRUSTED_HOST
ARG PIP_CERT
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
# Only setup.cfg reaches this layer: the dependencies are installed again when they change,
# not when the code does. The list is read from setup.cfg, so there is no second copy of it.
COPY setup.cfg ./
RUN python -c "import configparser; c = configparser.ConfigParser(); c.read('setup.cfg'); \
print(c['options']['install_requires'].strip())" > /tmp/requirements.txt \
 && pip install --requirement /tmp/requirements.txt \
 && rm /tmp/requirements.txt
COPY wsgi.py ./
COPY middleware ./middleware
COPY lti ./lti
COPY migrations ./migrations
COPY deploy/gunicorn.conf.py ./deploy/
COPY scripts/entrypoint.sh scripts/healthcheck.py scripts/i18n.py ./scripts/
# The .mo catalogues are built here (they are not in git); bytecode too, since the running
# user cannot write into /app.
RUN python scripts/i18n.py compile \
 && python -m compileall -q wsgi.py middleware lti migrations deploy

# --- runtime: the venv and the application, run as an unprivileged user -----------------------
FROM ${BASE_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CIRCOLO_ENV=production \
    CIRCOLO_INSTANCE_PATH=/var/lib/circolo \
    CIRCOLO_BIND=0.0.0.0:8000
RUN groupadd --system circolo \
 && useradd --system --gid circolo --home-dir /var/lib/circolo --create-home circolo
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
USER circolo
VOLUME ["/var/lib/circolo"]
EXPOSE 8000
# Asks gunicorn at the address CIRCOLO_BIND names (the port included), with Python's stdlib.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "/app/scripts/healthcheck.py"]
ENTRYPOINT ["/app/scripts/entrypoint.sh"]
CMD ["web"]
