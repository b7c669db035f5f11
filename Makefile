# Entry points: `make run` and `make test` set everything up from a clean checkout.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test demo lint typecheck format init install clean bench messages

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

init: $(STAMP)
	$(BIN)/wirewatch init

run: init
	$(BIN)/wirewatch run

demo: $(STAMP)
	$(BIN)/wirewatch demo --serve

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Refresh the translation catalogues (core/locales/*/LC_MESSAGES/messages.po) from the
# sources after changing interface text; then translate the new empty entries.
LOCALES_DIR := core/locales
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output \
		-o $(LOCALES_DIR)/messages.pot .
	$(BIN)/pybabel update -i $(LOCALES_DIR)/messages.pot -d $(LOCALES_DIR) -D messages \
		--no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date
	rm $(LOCALES_DIR)/messages.pot

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
