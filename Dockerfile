# monitor: a small image, non-root, migrations at start.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY monitor ./monitor
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home /var/lib/monitor --create-home monitor
COPY --from=build /install /usr/local
COPY config /etc/monitor
WORKDIR /var/lib/monitor
USER monitor
ENV MONITOR_CONFIG=/etc/monitor/monitor.yaml \
    MONITOR_HTTP_LISTEN=0.0.0.0:8080 \
    PYTHONUNBUFFERED=1
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"
# `db upgrade` first (idempotent), then the daemon; SIGTERM reaches the daemon through exec.
CMD ["sh", "-c", "monitor db upgrade && exec monitor run"]
