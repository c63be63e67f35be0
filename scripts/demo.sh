#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the main job on the embedded default: a tiny model built locally,
# cold-start SFT on synthetic R1-format traces, then GRPO with the math, format and language rewards.
# CPU, 2 cores, no downloads, about 5-10 minutes. Extra arguments are config overrides (key=value).
set -euo pipefail
cd "$(dirname "$0")/.."
R1_NO_DOCKER=1 bash scripts/setup.sh
exec .venv/bin/python -m trainer --config configs/demo.toml "$@"
