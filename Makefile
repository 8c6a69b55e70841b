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

.PHONY: setup report test bench train-baseline clean-cache

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

test: setup
	$(PY) -m pytest

bench: setup
	$(PY) -m common.bench throughput
	$(PY) -m common.bench dynamic

# The baseline's full-profile run on its own (resumable; e.g. nohup make train-baseline &).
train-baseline: setup
	$(PY) -m common.train --model resnet20 --profile $(PROFILE)

clean-cache:
	rm -rf .cache
