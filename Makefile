# The two commands of the README:
#   make dashboard   set up on first use, then start the dashboard (demo cohort on an empty store)
#   make test        set up on first use, then run the whole test suite
.PHONY: dashboard demo test lint schema setup notebooks

VENV := .venv/bin

setup:
	@bash scripts/setup.sh

dashboard: setup
	$(VENV)/recovery dashboard

demo: setup
	$(VENV)/recovery demo

test: setup
	$(VENV)/ruff check toolkit tests notebooks dashboards benchmarks
	$(VENV)/python -m pytest -n 2 -p no:cacheprovider

lint: setup
	$(VENV)/ruff check toolkit tests notebooks dashboards benchmarks

schema: setup
	$(VENV)/python -m toolkit.schema data/schema

notebooks: setup
	$(VENV)/jupytext --sync notebooks/[0-9][0-9]_*.py
