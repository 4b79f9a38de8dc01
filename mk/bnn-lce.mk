# BNN: the optional Larq Compute Engine venv that `python -m padl_lib.bnn.bench` compares against.
# LCE pins numpy 1.26 (padl pins 1.23), so it lives in a venv of its own; the bench talks to it
# through padl_lib/bnn/lce_runner.py in a subprocess. About 600 MB from PyPI; optional in CI.
.PHONY: lce
LCE_VENV := .lce-venv
LCE_PACKAGES := larq-compute-engine==0.16.0 tensorflow==2.16.1 tf-keras==2.16.0 larq==0.14.0 numpy==1.26.4

## make lce: create .lce-venv with Larq Compute Engine for the BNN benchmark (optional)
lce: $(LCE_VENV)/.padl-lce-ready

$(LCE_VENV)/.padl-lce-ready: mk/bnn-lce.mk
	python3 -m venv $(LCE_VENV)
	$(LCE_VENV)/bin/pip install -q --upgrade pip
	$(LCE_VENV)/bin/pip install -q $(LCE_PACKAGES)
	TF_USE_LEGACY_KERAS=1 $(LCE_VENV)/bin/python -c "import larq_compute_engine, larq, tensorflow"
	@touch $@

.PHONY: bnn-bench
## make bnn-bench: the BNN benchmark at 1 thread (padl, torch, mxnet, and lce after `make lce`) -> artifacts/bnn_bench.json
bnn-bench: $(STAMP)
	$(PY) -m padl_lib.bnn.bench --threads 1 --json artifacts/bnn_bench.json
