# Thin entry points; the logic lives in scripts/. README quick start: `make setup`, `make test`.
# VERBOSE=1 streams each step's output. PYTEST_ARGS="-k glb -x" passes options to pytest.

SHELL := /bin/bash
VENV_PY := .venv/bin/python
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup deps test test-slow test-e2e lint format \
	bench-render bench-batch bench-export bench-gan bench-gan-sensitivity docs-images default-model model-grid

help:  ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 16

setup:  ## install everything (system packages, .venv, npm tools), then generate 4 avatars
	scripts/setup.sh

deps:  ## install everything, no main job
	scripts/setup.sh --no-job

test:  ## lint + fast tests (installs first if needed); what .ci/run calls
	scripts/test.sh fast $(PYTEST_ARGS)

test-slow:  ## tests marked slow
	scripts/test.sh slow $(PYTEST_ARGS)

test-e2e:  ## real-client tests (Blender, Chromium, Xvfb); installs Blender
	scripts/test.sh e2e $(PYTEST_ARGS)

lint:  ## ruff check + ruff format --check
	scripts/test.sh lint

format: deps  ## apply ruff's safe fixes and formatting
	.venv/bin/ruff check --fix --quiet . || true
	.venv/bin/ruff format .

bench-render: deps  ## fast vs pytorch3d renderer throughput
	$(VENV_PY) bench/render.py

bench-batch: deps  ## batch throughput vs a naive path, 1 -> 2 worker scaling, memory N=200 vs 2000
	$(VENV_PY) bench/batch.py --scaling --memory

bench-export: deps  ## GLB export throughput vs uncached and trimesh
	$(VENV_PY) bench/export.py --lods

bench-gan: deps  ## synthetic GAN benchmark: population dataset, train (3,000 steps, at most 30 min CPU), evaluate
	scripts/bench_gan.sh

bench-gan-sensitivity: deps  ## how fast a fresh discriminator tells the bench-gan set from it minus one property (identity, skin, smile)
	$(VENV_PY) bench/gan.py --data-only
	$(VENV_PY) bench/gan_sensitivity.py

docs-images: deps  ## regenerate the images under docs/
	$(VENV_PY) scripts/make_docs_images.py

default-model: deps  ## rebuild data/default_head.npz
	$(VENV_PY) -m mesh_avatar.morphable.default_builder --out data/default_head.npz

model-grid: deps  ## render docs/model_grid.png (16 random default avatars)
	$(VENV_PY) scripts/make_model_grid.py --out docs/model_grid.png
