# Two commands do everything:  `make report`  and  `make test`.
#   make report CIFAR10=../shared/data/cifar10-jpeg.tar.gz   # data source; default: torchvision
#   make report PROFILE=smoke                                 # smoke | full (default) | paper
#   make report NOTEBOOKS="01 02"                             # only these numbered notebooks
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PROFILE ?= full
NOTEBOOKS ?=
CIFAR10 ?=
export CIFAR10

.PHONY: setup report lab test sweep bench published status train-all train-resnet20 proxies clean-cache

# The virtual environment, rebuilt when the pins change. `common` is installed editable so
# notebooks import it from anywhere.
$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

setup: $(VENV)/.installed

report: setup
	$(PY) -m common.report --profile $(PROFILE) $(if $(NOTEBOOKS),--only $(NOTEBOOKS))

# JupyterLab at the repository root, opening on the executed report (its answer on the first screen).
lab: setup
	$(VENV)/bin/jupyter lab --notebook-dir=. --LabApp.default_url=/lab/tree/results/report/$(PROFILE)/report.html \
		$(if $(filter 0,$(shell id -u)),--allow-root)

test: setup
	$(PY) -m pytest

bench: setup
	$(PY) -m common.bench throughput
	$(PY) -m common.bench dynamic

# akamaster's published ResNet-20 (trained on the original images) on the data in use:
# results/published/akamaster_resnet20.json, one entry per data source.
published: setup
	$(PY) -m common.published

# Training runs of the study on their own, e.g. in the background before `make report`:
#   nohup make train-all PROFILE=paper CIFAR10=../shared/data/cifar10-jpeg.tar.gz &
# The queue of each profile (runs x seeds, in priority order) is common/manifest.py's QUEUES,
# the one list of the study's runs (`python -m common.manifest queue paper` prints it).
# PARALLEL=auto trains one single-thread run per core side by side on a CPU (more images/s in
# total than one two-thread run on a 2-core CPU) and, on a GPU, as many runs at once as
# `python -m common.bench concurrency` measured to pay. Every run resumes from its last epoch and
# finished runs are skipped, so the same command picks up after an interruption (a run that
# another process is training stops with an error instead: each run holds a lock).
# `make train-dy4` etc. train one run.
THREADS ?= 1
TRAIN = $(PY) -m common.train --profile $(PROFILE) --threads $(THREADS)
PARALLEL ?= auto
CLUSTER ?= local

train-all: setup
	$(PY) -m common.sweep --queue --profile $(PROFILE) \
		--cluster $(CLUSTER) --parallel $(PARALLEL) --threads $(THREADS) $(SWEEP_ARGS)

# A grid of runs (models x seeds) the same way; on Slurm with
#   make sweep CLUSTER=slurm SWEEP_ARGS="--partition gpu --gpus-per-job 1 --timeout-min 240"
RUNS ?= resnet20 dy4 gated0.5
SEEDS ?= 0 1 2
sweep: setup
	$(PY) -m common.sweep --runs $(RUNS) --seeds $(SEEDS) --profile $(PROFILE) \
		--cluster $(CLUSTER) --parallel $(PARALLEL) --threads $(THREADS) $(SWEEP_ARGS)

status: setup  # where each run of PROFILE's queue stands, and the hours left (every run: python -m common.train --status)
	$(PY) -m common.sweep --status --profile $(PROFILE)

train-resnet20: setup
	$(TRAIN) --model resnet20

train-dy%: setup
	$(TRAIN) --model dy_resnet20 --model-kwargs '{"num_kernels": $*}'

train-gated%: setup
	$(TRAIN) --model gated_resnet20 --model-kwargs '{"l0_weight": $*}'

# Issue 16's gating proxies: 8 epochs on 45,000 training images, scored on 5,000 held out (never
# the test set), against thin static ResNet-20s of the same recipe. The README's "Conditional
# gating on the hold-out" section states the selection rule that was fixed before they ran.
#   nohup make -j2 proxies CIFAR10=../shared/data/cifar10-jpeg.tar.gz &
PROXY = $(PY) -m common.train --profile full --epochs 8 --holdout 5000 --threads $(THREADS)
PROXY_GATED = l0-1.0-const l0-1.0-const-macs l0-0.5-const-macs l0-2.0-const-macs
PROXY_STATIC = 0.81 0.69 0.58
proxies: $(PROXY_STATIC:%=proxy-width%) $(PROXY_GATED:%=proxy-gated-%)

proxy-width%: setup
	$(PROXY) --results-dir results/recipe_selection/static --model resnet20 \
		--model-kwargs '{"width": $*}'

# l0-<weight>-const[-macs]: batch-shaping held throughout; -macs charges each channel its MACs
proxy-gated-%: setup
	$(PROXY) --results-dir results/recipe_selection/conditional --model gated_resnet20 \
		--model-kwargs '$(call proxy_kwargs,$(subst l0-,,$*))'
proxy_kwargs = {"l0_weight": $(word 1,$(subst -, ,$1)), "bs_until": null$(if $(findstring macs,$1),$(comma) "l0_cost": "macs")}
comma := ,

clean-cache:
	rm -rf .cache
