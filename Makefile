# The two commands a newcomer needs: `make lecture` and `make test`. Both install what is missing first.
PY := .venv/bin/python
# Python's bytecode cache on, even where the machine turns it off (PYTHONDONTWRITEBYTECODE=1): without it every
# process compiles the project's modules again, each render.py a test starts (0.3 s) and each test worker's
# collection (3 s of pytest's assertion rewriting). The files go to __pycache__ folders, which git ignores.
export PYTHONDONTWRITEBYTECODE :=
QUALITY ?= preview

.PHONY: setup lecture test test-fast mutation clean

setup:
	@./scripts/setup.sh

lecture: setup
	$(PY) render.py lecture assets/lectures/default.yaml --quality $(QUALITY) -o out/lecture.mp4

test: setup
	$(PY) -m pytest tests -n 2 --dist worksteal --durations=25

test-fast: setup
	$(PY) -m pytest tests -m "not slow" -n auto --dist worksteal

# Mutation testing (mutmut, configured in pyproject.toml) on a random sample of the engine's and the CLI's
# mutants, sized to finish within the hour on two cores (the whole set takes hours); results are kept in
# mutants/, so later runs add to them. Writes docs/mutation.md. Not part of CI.
MUTATION_SAMPLE ?= 500
MUTATION_SEED ?= 0
mutation: setup
	$(PY) -m pip install -q -r requirements-mutation.txt
	$(PY) scripts/mutation_sample.py --size $(MUTATION_SAMPLE) --seed $(MUTATION_SEED)
	$(PY) scripts/mutation_report.py > docs/mutation.md

clean:
	rm -rf media out .cache mutants
