#!/usr/bin/env bash
# Idempotent set-up: a virtual environment in .venv with the project and all its extras, plus a
# Docker engine (Debian's docker.io) for the Docker sandbox backend when apt is usable.
# Re-running is cheap: pip runs again only when pyproject.toml or the C source it builds changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=".venv/.r1-setup-$(cat pyproject.toml sandbox/_zygote_fast.c | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "[setup] installing into .venv (first run takes a few minutes)" >&2
  pip=(.venv/bin/python -m pip install -q --disable-pip-version-check)
  # torch first and pinned: with no torch present, an unpinned requirement pulls the CUDA build (GBs).
  if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    if command -v nvidia-smi >/dev/null 2>&1; then "${pip[@]}" torch; else "${pip[@]}" "torch==${R1_TORCH_VERSION:-2.13.0}"; fi
  fi
  "${pip[@]}" -e ".[all,dev]"
  rm -f .venv/.r1-setup-*
  touch "$stamp"
fi
if [ "${R1_NO_DOCKER:-0}" != 1 ] && ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[setup] installing Debian's docker.io for the Docker backend (R1_NO_DOCKER=1 skips)" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null) \
      || echo "[setup] docker.io could not be installed: Docker backend tests will be skipped" >&2
  else
    echo "[setup] no dockerd and no root apt: Docker backend tests will be skipped" >&2
  fi
fi
