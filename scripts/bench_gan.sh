#!/usr/bin/env bash
# GAN acceptance benchmark: synthetic population -> 5,000 renders at 64 px -> 3,000 training
# steps on the CPU (at most 30 min) -> evaluation (Frechet ratio vs prior, precision/recall,
# coverage). Extra arguments go to bench/gan.py (e.g. --steps 500 --n 1000 for a short run).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python bench/gan.py "$@"
