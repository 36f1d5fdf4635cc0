# syntax=docker/dockerfile:1
# Images for docker-compose.yml: the Flink cluster with Python 3.11 and ecomflow installed, and
# the local stand-ins built from the same pins as the project (kinesis-mock from
# tools/kinesis-mock's lockfile, moto from pyproject's range). Targets: flink, kinesis-mock, s3.

# -- the connector uber-jar (pom.xml), as `mvn package` builds it on a laptop ------------------
FROM maven:3.9-eclipse-temurin-17 AS connectors
WORKDIR /build
COPY pom.xml ./
COPY src ./src
RUN mvn -q -B -DskipTests package

# -- Flink 1.20 (the MSF FLINK-1_20 runtime's minor) + Python 3.11 + ecomflow ------------------
FROM flink:1.20.1-scala_2.12-java17 AS flink
# The image's OS Python is not 3.11 everywhere: uv installs a standalone CPython 3.11.
COPY --from=ghcr.io/astral-sh/uv:0.5.31 /uv /usr/local/bin/uv
ENV UV_PYTHON_INSTALL_DIR=/opt/python
RUN uv venv --python 3.11 /opt/venv
ENV PATH=/opt/venv/bin:$PATH VIRTUAL_ENV=/opt/venv
WORKDIR /opt/ecomflow
COPY pyproject.toml README.md ./
COPY ecomflow ./ecomflow
COPY flink_jobs ./flink_jobs
COPY udfs ./udfs
COPY benchmarks ./benchmarks
COPY sql ./sql
RUN uv pip install --no-cache /opt/ecomflow
# Every node (JobManager, TaskManagers, the submitting client) loads the connectors from lib/.
COPY --from=connectors /build/target/ecomflow-connectors-0.1.0.jar /opt/flink/lib/
# PyFlink's workers and client use the venv's interpreter.
RUN printf '%s\n' 'python.executable: /opt/venv/bin/python' \
        'python.client.executable: /opt/venv/bin/python' >> /opt/flink/conf/config.yaml

# -- kinesis-mock: the npm package the project pins (tools/kinesis-mock) ------------------------
FROM node:20-slim AS kinesis-mock
WORKDIR /opt/kinesis-mock
COPY tools/kinesis-mock/package.json tools/kinesis-mock/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
ENV KINESIS_MOCK_CERT_PATH=/opt/kinesis-mock/node_modules/kinesis-local/server.json \
    KINESIS_MOCK_TLS_PORT=4567 KINESIS_MOCK_PLAIN_PORT=4568 SHOULD_PERSIST_DATA=false
EXPOSE 4567 4568
CMD ["node", "node_modules/kinesis-local/main.js"]

# -- the S3 stand-in: moto's server, in pyproject's version range --------------------------------
FROM python:3.11-slim AS s3
RUN pip install --no-cache-dir "moto[server]>=5.0.28,<5.1"
EXPOSE 4569
CMD ["python", "-m", "moto.server", "-H", "0.0.0.0", "-p", "4569"]
