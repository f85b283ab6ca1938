#!/usr/bin/env bash
# The Python package's tests, as a user gets the package: the wheel built by `pip wheel`,
# installed into a fresh virtual environment with its test requirements, then pytest on
# python/tests there. The wheel is built from the build directory `make build` made
# (scikit-build-core's build-dir), so the engine is not compiled a second time.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
WHEELS="$BUILD_DIR/wheels"
VENV=$(realpath -m "$BUILD_DIR/python-venv")

rm -rf "$WHEELS"
.venv/bin/python -m pip wheel ./python --no-build-isolation --no-deps -q \
  --disable-pip-version-check -w "$WHEELS" -C build-dir="$(realpath "$BUILD_DIR")" \
  -C cmake.define.INLET_PYTHON="$PWD/.venv/bin/python"
wheel=$(ls "$WHEELS"/inlet-*.whl)
echo "python: built $(basename "$wheel") ($(du -h "$wheel" | cut -f1))"

rm -rf "$VENV"
.venv/bin/python -m venv "$VENV"  # from the same interpreter, not from .venv's packages
"$VENV/bin/pip" install -q --disable-pip-version-check "$wheel" -r python/requirements-test.txt
cd python/tests
exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider .
