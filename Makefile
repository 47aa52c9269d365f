# The two commands of the README:
#   make dashboard   set up on first use, then start the main job
#   make test        set up on first use, then run the whole test suite
.PHONY: dashboard demo test lint schema setup notebooks

VENV := .venv/bin

setup:
	@bash scripts/setup.sh

dashboard: setup
	$(VENV)/recovery demo

demo: dashboard

test: setup
	$(VENV)/ruff check toolkit tests notebooks
	$(VENV)/python -m pytest -n 2 -p no:cacheprovider

lint: setup
	$(VENV)/ruff check toolkit tests notebooks

schema: setup
	$(VENV)/python -m toolkit.schema data/schema

notebooks: setup
	$(VENV)/jupytext --sync notebooks/[0-9][0-9]_*.py
