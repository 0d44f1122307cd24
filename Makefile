# Caléol — two commands do everything: `make run` and `make test`.
SHELL := /bin/bash
# durable_rules does not import on Python 3.13: take the first interpreter in 3.11–3.12.
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do \
	$$p -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] < (3, 13)))' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
SEED ?= 42
DOSSIERS ?= 20000
LOGEMENTS ?= 3000
export CALEOL_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test

OPENFISCA := .openfisca
# OpenFisca-France estimates the housing aid; it runs in its own environment (its pins stay out of ours).
OPENFISCA_FRANCE ?= OpenFisca-France==176.1.8

.PHONY: run test test-sqlite install openfisca clean systeme-pdf systeme-navigateur

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python 3.11 ou 3.12 est requis (durable_rules ne s'importe pas sous 3.13)."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

## Bibliothèques système de WeasyPrint (PDF des procès-verbaux et des lettres) : Pango et une police, installées avec apt si absentes.
systeme-pdf:
	@if ! ldconfig -p | grep -q 'libpangoft2-1.0.so.0' || ! fc-list 2>/dev/null | grep -qi 'DejaVu Sans'; then \
		echo "Installation de Pango et des polices DejaVu (apt)…"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 fontconfig fonts-dejavu-core >/dev/null; \
	fi

## Chromium de Debian pour les tests dans un vrai navigateur (Playwright le pilote).
systeme-navigateur:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "Installation de Chromium (apt)…"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

$(VENV)/.installe: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installe-test: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installe

install: $(VENV)/.installe

$(OPENFISCA)/.installe:
	$(PYTHON) -m venv $(OPENFISCA)
	$(OPENFISCA)/bin/pip install --quiet '$(OPENFISCA_FRANCE)'
	@touch $@

## L'estimateur d'aide au logement (OpenFisca-France) dans son propre environnement.
openfisca: $(OPENFISCA)/.installe

## Installe, crée ou met à jour la base SQLite sous instance/, charge la démo si la base est vide, sert l'application.
run: $(VENV)/.installe $(OPENFISCA)/.installe systeme-pdf
	$(BIN)/caleol db upgrade
	$(BIN)/caleol demo load --si-vide --seed $(SEED) --dossiers $(DOSSIERS) --logements $(LOGEMENTS)
	$(BIN)/caleol evaluations recalculer
	$(BIN)/caleol flux orienter --vacants
	@# L'estimateur d'aide au logement tourne à côté, dans son propre processus, le temps du service.
	@mkdir -p instance; \
	$(OPENFISCA)/bin/openfisca serve --country-package openfisca_france --port 5077 --bind 127.0.0.1:5077 --workers 1 \
		> instance/openfisca.log 2>&1 & pid=$$!; \
	trap "kill $$pid 2>/dev/null" EXIT INT TERM; \
	CALEOL_OPENFISCA_URL=http://127.0.0.1:5077 $(BIN)/caleol serve --host 127.0.0.1 --port 5000

## Installe avec les extras de test et lance toute la suite, sur SQLite et PostgreSQL.
test: $(VENV)/.installe-test $(OPENFISCA)/.installe systeme-pdf systeme-navigateur
	$(BIN)/python -m pytest

## La suite sans PostgreSQL (poste sans serveur local).
test-sqlite: $(VENV)/.installe-test $(OPENFISCA)/.installe systeme-pdf systeme-navigateur
	CALEOL_TEST_DATABASE_URL= $(BIN)/python -m pytest

clean:
	rm -rf $(VENV) $(OPENFISCA) instance .pytest_cache
