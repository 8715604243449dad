# The few commands people run. Each creates .venv and installs what it needs on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TRANSFER_STAMP := $(VENV)/.installed-transfer
LINT_STAMP := $(VENV)/.installed-lint
DOCS_STAMP := $(VENV)/.installed-docs
WHEELS := .wheels

.PHONY: install install-transfer demo demo-shards demo-cls demo-seg demo-det demo-digits reproduce test test-fast \
	lint format benchmark gpu-check gpu-wheels docs clean

# pip >= 21.3 installs editable from pyproject.toml alone (PEP 660); Python 3.10.0's venv has 21.2
$(STAMP): pyproject.toml requirements/torch.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install 'pip>=21.3'
	$(PY) -m pip install -r requirements/torch.txt
	$(PY) -m pip install -e '.[tests,demo]'
	touch $(STAMP)

install: $(STAMP)

# Detection/segmentation transfer: mmcv 2.1.0 built from source with ops (~20 min once), then
# mmdet and mmseg.
$(TRANSFER_STAMP): $(STAMP) requirements/build_mmcv.sh
	bash requirements/build_mmcv.sh $(PYTHON) $(WHEELS)
	$(PY) -m pip install $(WHEELS)/mmcv-2.1.0-*.whl
	$(PY) -m pip install -e '.[seg,det]'
	touch $(TRANSFER_STAMP)

install-transfer: $(TRANSFER_STAMP)

# Main job: prepare the demo photographs, pretrain the small MAE, write checkpoint + pictures,
# draw the curves and say where everything is and what to run next.
demo: $(STAMP)
	$(PY) tools/prepare_demo_data.py data/demo
	$(PY) tools/train.py configs/mae_vit-t_demo.py --work-dir work_dirs/mae_vit-t_demo
	$(PY) tools/demo_summary.py work_dirs/mae_vit-t_demo

# The demo streamed from tar shards (README "Training from tar shards"): 5 shards of 4 photographs.
demo-shards: $(STAMP)
	$(PY) tools/prepare_demo_data.py data/demo
	test -d data/demo/shards || $(PY) tools/pack_shards.py data/demo/train data/demo/shards --shard-size 4
	$(PY) tools/train.py configs/mae_vit-t_demo_shards.py --work-dir work_dirs/mae_vit-t_demo_shards

# Does pretraining learn? The MAE on scikit-learn's handwritten digits, kNN top-1 on held-out
# digits from the random encoder (step 0) to the end (1,000 iterations, ~14 min on 2 cores).
demo-digits: $(STAMP)
	$(PY) tools/prepare_demo_data.py data/demo --digits
	$(PY) tools/train.py configs/mae_vit-t_digits.py --work-dir work_dirs/mae_vit-t_digits
	$(PY) tools/demo_summary.py work_dirs/mae_vit-t_digits

# The paper's claims at small scale (docs/reproduction.md): 14 digits pretrainings (mask ratio,
# decoder depth, target; 2 seeds), their linear probes and fine-tunings, the scratch rows and
# Table 2's timing, then the page's tables and figures. 72 min on 2 cores shared with other work
# (2026-12-07); a row already done is skipped, so an interrupted run continues. Not in `make test`.
reproduce: $(STAMP)
	$(PY) tools/prepare_demo_data.py data/demo --digits
	$(PY) tools/reproduce.py

# The paper's evaluations of the demo MAE on the demo tiles (pretrains first if needed).
demo-cls: $(STAMP)
	test -f work_dirs/mae_vit-t_demo/iter_500.pth || $(MAKE) demo
	$(PY) tools/train.py configs/cls/vit-t-mae_finetune_demo.py
	$(PY) tools/train.py configs/cls/vit-t-mae_linprobe_demo.py

# UperNet on the demo MAE and the demo segmentation set (pretrains first if needed).
demo-seg: $(TRANSFER_STAMP)
	test -f work_dirs/mae_vit-t_demo/iter_500.pth || $(MAKE) demo
	$(PY) tools/prepare_demo_data.py data/demo
	$(PY) tools/train.py configs/seg/upernet_vit-t-mae_demo.py

# Mask R-CNN (ViTDet recipe) on the demo MAE and the demo COCO set of coins.
demo-det: $(TRANSFER_STAMP)
	test -f work_dirs/mae_vit-t_demo/iter_500.pth || $(MAKE) demo
	$(PY) tools/prepare_demo_data.py data/demo
	$(PY) tools/train.py configs/det/mask-rcnn_vit-t-mae_demo.py

test: $(TRANSFER_STAMP)
	$(PY) -m pytest tests -n auto --dist load --maxschedchunk 1

# without mmcv/mmdet/mmseg: their tests skip, naming `make install-transfer`
test-fast: $(STAMP)
	$(PY) -m pytest tests -m "not slow" -n auto --dist load --maxschedchunk 1

# ruff (lint + format check); the rules and the formatter style are in pyproject.toml.
$(LINT_STAMP): $(STAMP)
	$(PY) -m pip install -e '.[lint]'
	touch $(LINT_STAMP)

lint: $(LINT_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# the formatter first: it wraps the long lines that ruff check could not fix by itself
format: $(LINT_STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

benchmark: $(STAMP)
	$(PY) -m pip install -e '.[benchmark]'
	$(PY) tools/benchmark.py configs/mae_vit-b_800e.py

# On a GPU machine (issue 23): the gpu tests, then ViT-B/16 bf16 at batch 256 against its peers
# and the data pipeline per core, each step time-boxed (<= 8 min on one H100); the result file
# (JSON + a block for docs/benchmarks.md) goes to work_dirs/gpu_check_<date>.json. Without CUDA
# it stops with exit code 2. GPU_CHECK_ARGS: e.g. --skip-bench, --timeout-scale 2.
gpu-check: $(STAMP)
	$(PY) -m pip install -e '.[benchmark]'
	$(PY) tools/gpu_check.py $(GPU_CHECK_ARGS)

# The pure-Python packages the lent GPU machine's image lacks (its torch, timm, Lightning and
# transformers are its own), as wheels carried with the run into $(WHEELS)/gpu.
gpu-wheels: $(STAMP)
	$(PY) -m pip download --no-deps --only-binary=:all: -d $(WHEELS)/gpu mmengine==0.10.7 \
		lightly==1.6.0 webdataset==1.0.2 braceexpand addict termcolor yapf platformdirs

# The documentation site (mkdocs.yml, pages in docs/) into site/, strictly: a broken link or
# anchor, a page missing from the navigation or a docstring mkdocstrings cannot read fails it.
$(DOCS_STAMP): $(STAMP)
	$(PY) -m pip install -e '.[docs]'
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

clean:
	rm -rf $(VENV) work_dirs data/demo .pytest_cache $(WHEELS)
