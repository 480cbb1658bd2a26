# Two commands on a fresh machine (see README.md):
#   make demo   install everything, then run the end-to-end demo on generated synthetic data
#   make test   install everything, then run the grader's self-checks and grade the solutions
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install demo test grade templates bench clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-nodeps.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	touch $@

demo: install
	$(PY) demo.py

test: install
	$(PY) -m grader.selfcheck --mutants-per-task 2
	$(PY) -m pytest --solutions

# students: grade your own templates
grade: install
	$(PY) -m pytest --next

# instructors: regenerate the templates after editing a solution
templates: install
	$(PY) -m grader.templates build

bench: install
	for script in benchmarks/bench_*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache
