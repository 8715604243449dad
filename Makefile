# The few commands people run. Each creates .venv and installs what it needs on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo demo-cls test test-fast benchmark clean

$(STAMP): setup.py requirements/torch.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -r requirements/torch.txt
	$(PY) -m pip install -e '.[tests,demo]'
	touch $(STAMP)

install: $(STAMP)

# Main job: prepare the demo photographs, pretrain the small MAE, write checkpoint + pictures.
demo: $(STAMP)
	$(PY) tools/prepare_demo_data.py data/demo
	$(PY) tools/train.py configs/mae_vit-t_demo.py --work-dir work_dirs/mae_vit-t_demo

# The paper's evaluations of the demo MAE on the demo tiles (pretrains first if needed).
demo-cls: $(STAMP)
	test -f work_dirs/mae_vit-t_demo/iter_500.pth || $(MAKE) demo
	$(PY) tools/train.py configs/cls/vit-t-mae_finetune_demo.py
	$(PY) tools/train.py configs/cls/vit-t-mae_linprobe_demo.py

test: $(STAMP)
	$(PY) -m pytest tests

test-fast: $(STAMP)
	$(PY) -m pytest tests -m "not slow"

benchmark: $(STAMP)
	$(PY) -m pip install -e '.[benchmark]'
	$(PY) tools/benchmark.py configs/mae_vit-b_800e.py

clean:
	rm -rf $(VENV) work_dirs data/demo .pytest_cache
