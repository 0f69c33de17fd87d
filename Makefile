# The two commands a newcomer needs: `make lecture` and `make test`. Both install what is missing first.
PY := .venv/bin/python
QUALITY ?= preview

.PHONY: setup lecture test test-fast clean

setup:
	@./scripts/setup.sh

lecture: setup
	$(PY) render.py lecture assets/lectures/default.yaml --quality $(QUALITY) -o out/lecture.mp4

test: setup
	$(PY) -m pytest tests

test-fast: setup
	$(PY) -m pytest tests -m "not slow"

clean:
	rm -rf media out .cache
