# The two commands a newcomer needs: `make lecture` and `make test`. Both install what is missing first.
PY := .venv/bin/python
QUALITY ?= preview

.PHONY: setup lecture test test-fast mutation clean

setup:
	@./scripts/setup.sh

lecture: setup
	$(PY) render.py lecture assets/lectures/default.yaml --quality $(QUALITY) -o out/lecture.mp4

test: setup
	$(PY) -m pytest tests

test-fast: setup
	$(PY) -m pytest tests -m "not slow"

# Mutation testing (mutmut, configured in pyproject.toml): well over an hour on two cores for the whole
# set; a stopped run resumes where it left off (results are kept in mutants/). Writes docs/mutation.md.
# Not part of CI.
mutation: setup
	$(PY) -m pip install -q -r requirements-mutation.txt
	.venv/bin/mutmut run --max-children $$(nproc) > /dev/null
	$(PY) scripts/mutation_report.py > docs/mutation.md

clean:
	rm -rf media out .cache mutants
