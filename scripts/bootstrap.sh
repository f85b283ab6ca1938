#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian 12 machine: system packages, the Python virtual
# environment (.venv) with pinned pyarrow and test oracles. Safe to run repeatedly; each step
# is skipped when already satisfied.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(build-essential cmake ninja-build ccache pkg-config python3-venv
              libgtest-dev nlohmann-json3-dev libcli11-dev libroaring-dev libyaml-cpp-dev
              libcurl4-openssl-dev libssl-dev)

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
