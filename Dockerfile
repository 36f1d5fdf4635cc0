# syntax=docker/dockerfile:1
# Images for docker-compose.yml. What ships is what runs: the Flink cluster runs the zip
# `ecomflow package` builds (the one `ecomflow deploy` uploads), on PyFlink's own Flink
# distribution (the version the tests run), with Python as MSF gives it (apache-flink only,
# nothing of this project). The local stand-ins are built from the same pins as the project
# (kinesis-mock from tools/kinesis-mock's lockfile, moto from pyproject's range).
# Targets: flink, kinesis-mock, s3.

# -- the connector uber-jar and the S3 filesystem plugin (pom.xml), as `mvn package` builds them -
FROM maven:3.9-eclipse-temurin-17 AS connectors
WORKDIR /build
COPY pom.xml ./
COPY src ./src
RUN mvn -q -B -DskipTests package

# -- the MSF zip and the cluster's configuration, built by this project's tooling ---------------
FROM python:3.11-slim-bookworm AS package
WORKDIR /build
COPY pyproject.toml README.md ./
COPY ecomflow ./ecomflow
COPY flink_jobs ./flink_jobs
COPY udfs ./udfs
COPY benchmarks ./benchmarks
COPY sql ./sql
# Editable: `ecomflow package` reads flink_jobs/ and sql/ from this folder.
RUN pip install --no-cache-dir -e .
COPY --from=connectors /build/target/ecomflow-connectors-0.1.0.jar ./target/
RUN ecomflow package --out /dist/ecomflow-msf.zip \
    && python -m ecomflow.local.compose /dist/conf

# -- the cluster: PyFlink's Flink + Java 17 + Python 3.11, as MSF's FLINK-1_20 runtime ---------
FROM python:3.11-slim-bookworm AS flink
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless curl \
    && rm -rf /var/lib/apt/lists/*
# MSF's Python: apache-flink and its dependencies, nothing else (no boto3: the zip brings it).
RUN pip install --no-cache-dir "apache-flink==1.20.5" \
    && ln -s "$(python -c 'import os, pyflink; print(os.path.dirname(pyflink.__file__))')" /opt/flink
ENV FLINK_CONF_DIR=/opt/ecomflow/conf FLINK_PLUGINS_DIR=/opt/ecomflow/plugins
RUN useradd --uid 9999 --create-home flink \
    && mkdir -p /var/lib/flink-state /var/lib/ecomflow /opt/ecomflow/log \
    && chown flink:flink /var/lib/flink-state /var/lib/ecomflow /opt/ecomflow/log
ENV FLINK_LOG_DIR=/opt/ecomflow/log
COPY --from=package /dist/conf /opt/ecomflow/conf
COPY --from=connectors /build/target/local-lib/ /opt/ecomflow/plugins/s3-fs-hadoop/
COPY --from=package /dist/ecomflow-msf.zip /opt/ecomflow/ecomflow-msf.zip
# The exchange rates the job reads from the lake bucket, as on AWS (submit-job uploads them).
COPY ecomflow/data/fx_rates.csv /opt/ecomflow/reference/fx_rates.csv
USER flink
WORKDIR /opt/ecomflow

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
RUN pip install --no-cache-dir "moto[server]>=5.2.6,<5.3"
EXPOSE 4569
CMD ["python", "-m", "moto.server", "-H", "0.0.0.0", "-p", "4569"]
