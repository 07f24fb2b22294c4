# syntax=docker/dockerfile:1
# Multi-stage: build a venv with mediagate, then copy it into a slim non-root runtime image.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 mediagate && mkdir /data && chown mediagate /data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    MEDIAGATE_DATA_DIR=/data \
    PYTHONUNBUFFERED=1
USER mediagate
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
# Binding 0.0.0.0 makes MEDIAGATE_AUTH_TOKEN mandatory: the server refuses to start without it.
ENTRYPOINT ["mediagate", "serve", "--transport", "http", "--host", "0.0.0.0", "--port", "8000"]
