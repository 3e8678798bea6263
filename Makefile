# Two commands on a fresh machine: `make run` and `make test`. Everything else is installed here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export GMPSAI_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME    ?= $(CURDIR)/.dagster_home
# Paths the user gives relative to the checkout stay right inside `make dev`, which runs from
# inside $(DAGSTER_HOME).
export GMPSAI_DATA_DIR := $(abspath $(GMPSAI_DATA_DIR))
export DAGSTER_HOME := $(abspath $(DAGSTER_HOME))
$(foreach v,GMPSAI_STATS_DB GMPSAI_PUBLISH_DIR GMPSAI_TIMELINE_DB GMPSAI_PARAM_LIST,\
  $(if $($(v)),$(eval export $(v) := $(abspath $($(v))))))
DAGSTER_PORT ?= 3000
# Browser tests drive Debian's chromium; `make test` installs it when missing (root or sudo).
CHROMIUM ?= /usr/bin/chromium
# The postgres tests start a throwaway server from Debian's postgresql package (installed here too).
PG_INITDB ?= $(firstword $(wildcard /usr/lib/postgresql/*/bin/initdb))
# `sudo -n` fails at once, with sudo's own message, where a password would be needed (no stdin).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo -n)

# Exact versions of everything `make` installs (pip and setuptools included), so a fresh clone
# installs what was tested; `make lock` rewrites it from pyproject.toml's ranges.
LOCK   := constraints.txt
# The extras resolved into the lock: `make` installs `test` and `page` (and `dpm` for `make test`
# and `make install`); `catalog` and `prod` are pinned so that
# `pip install -e '.[catalog,prod]' -c constraints.txt` agrees with the tested set.
LOCK_EXTRAS := test,page,catalog,prod,dpm

.PHONY: run test dev bench lint clean install lock snapshot

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade -c $(LOCK) pip setuptools wheel

# PIP_CONSTRAINT also reaches the isolated environment pip builds the project in.
$(STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	PIP_CONSTRAINT=$(CURDIR)/$(LOCK) $(BIN)/python -m pip install --quiet -e '.[test,page]'
	touch $@

# The page's browser library (uPlot) from the npm registry, exactly as package-lock.json says,
# by the npm of the `page` extra (a wheel: no root, no system Node.js); the publisher copies it
# into the site (publish/site.py). Never committed.
VENDOR := gmpsai_assets/publish/vendor
VENDORED := $(VENDOR)/node_modules/.installed
$(VENDORED): $(VENDOR)/package.json $(VENDOR)/package-lock.json $(STAMP)
	$(BIN)/npm ci --prefix $(VENDOR) --no-audit --no-fund --loglevel=error
	touch $@

# The `dpm` extra (pacsys, docs/dpm.md): its gssapi has no Linux wheel and builds against
# Kerberos, so Debian's libkrb5-dev and gcc come first (root or sudo, as chromium and postgresql;
# apt waits for another apt to finish). Apart from $(STAMP), so `make run` never needs them.
DPM_STAMP := $(VENV)/.installed-dpm
APT_GET := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600
.PHONY: krb5-dev
krb5-dev:
	@{ command -v krb5-config >/dev/null && command -v gcc >/dev/null; } || \
	  { $(APT_GET) update -qq && \
	    $(APT_GET) install -y -qq --no-install-recommends libkrb5-dev gcc; }

$(DPM_STAMP): $(STAMP) | krb5-dev
	PIP_CONSTRAINT=$(CURDIR)/$(LOCK) $(BIN)/python -m pip install --quiet -e '.[test,page,dpm]'
	touch $@

install: $(STAMP) $(VENDORED) $(DPM_STAMP)

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

## materialize every daily asset for the most recent complete local day (simulated Booster)
run: $(STAMP) $(VENDORED) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/gmpsai materialize-day

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium

.PHONY: postgresql
postgresql:
	@[ -n "$(PG_INITDB)" ] || { $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	  postgresql; }

# The containers tests build the image (deploy/build-image: debootstrap makes the base) and run it
# on Debian's Docker engine, started here in the background when none answers.
DOCKERD_LOG ?= /var/log/gmpsai-dockerd.log
APT_INSTALL := env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install \
  -y -qq --no-install-recommends

.PHONY: docker
docker:
	@[ -x /usr/sbin/dockerd ] && [ -x /usr/sbin/debootstrap ] || { $(SUDO) apt-get update -qq && \
	  $(SUDO) $(APT_INSTALL) docker.io debootstrap; }
	@$(SUDO) docker info >/dev/null 2>&1 || { \
	  echo "starting dockerd (log: $(DOCKERD_LOG))"; \
	  $(SUDO) sh -c 'nohup /usr/sbin/dockerd >>$(DOCKERD_LOG) 2>&1 </dev/null &'; \
	  for i in $$(seq 60); do $(SUDO) docker info >/dev/null 2>&1 && exit 0; sleep 1; done; \
	  echo "dockerd did not start within 60 s: see $(DOCKERD_LOG)"; exit 1; }

## the whole test suite
test: $(STAMP) $(VENDORED) $(CHROMIUM) postgresql docker $(DPM_STAMP)
	$(BIN)/python -m pytest

## Dagster UI and daemon on 127.0.0.1:$(DAGSTER_PORT), state in $(DAGSTER_HOME)
# Each runs in a process group of its own (setsid) with its code servers and the runs those
# start (the timeline logger), so a stop takes them all: Ctrl-C (SIGINT to make's group) or
# SIGTERM to make sends SIGTERM to both groups, waits up to STOP_GRACE_S seconds for them to
# empty, then SIGKILLs what is left. Killing only the two processes would leave a code server and
# its runs behind (Dagster's code server waits for its runs to end). A requested stop exits 0.
# They run from inside $(DAGSTER_HOME) so the instance's dagster.yaml is also the one in the
# working directory. The instance storage is created first: two processes migrating a fresh
# sqlite storage at once can leave two alembic heads. DAGSTER_PORT=0 lets the webserver pick a
# port (the log says which).
STOP_GRACE_S ?= 20
dev: $(STAMP) $(VENDORED) $(DAGSTER_HOME)/dagster.yaml
	cd $(DAGSTER_HOME) || exit 1; \
	$(CURDIR)/$(BIN)/python -c 'import dagster; dagster.DagsterInstance.get().dispose()' \
	  || exit 1; \
	setsid $(CURDIR)/$(BIN)/dagster-daemon run -w $(CURDIR)/workspace.yaml & daemon=$$!; \
	setsid $(CURDIR)/$(BIN)/dagster-webserver -h 127.0.0.1 -p $(DAGSTER_PORT) \
	  -w $(CURDIR)/workspace.yaml & web=$$!; \
	alive() { kill -0 -$$web 2>/dev/null || kill -0 -$$daemon 2>/dev/null; }; \
	stop() { kill -TERM -$$web -$$daemon 2>/dev/null; n=0; \
	  while alive && [ $$n -lt $$(($(STOP_GRACE_S) * 5)) ]; do sleep 0.2; n=$$((n + 1)); done; \
	  kill -KILL -$$web -$$daemon 2>/dev/null; wait; exit $$1; }; \
	trap 'stop 0' INT TERM; \
	wait $$web; status=$$?; stop $$status

bench: $(STAMP) $(VENDORED) $(DPM_STAMP)
	$(BIN)/python -m benchmarks

# ruff; the layer table of docs/design.md (test_layout.py); dead code: the package and the
# benchmarks without the tests (code only a test calls is dead), then the harness with the tests
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -p no:cacheprovider gmpsai_assets_tests/test_layout.py
	$(BIN)/vulture --min-confidence 60 gmpsai_assets benchmarks vulture_allowlist.py
	$(BIN)/vulture --min-confidence 60 harness gmpsai_assets_tests vulture_allowlist.py

## rewrite constraints.txt: a fresh temporary venv resolves pyproject.toml's ranges, newest first
lock:
	tmp=$$(mktemp -d) || exit 1; trap 'rm -rf "$$tmp"' EXIT; \
	$(PYTHON) -m venv "$$tmp/venv" && \
	"$$tmp/venv/bin/python" -m pip install --quiet --upgrade pip setuptools wheel && \
	"$$tmp/venv/bin/python" -m pip install --quiet -e '.[$(LOCK_EXTRAS)]' && \
	{ echo "# Written by \`make lock\` ($$("$$tmp/venv/bin/python" -V), extras $(LOCK_EXTRAS)); do not edit."; \
	  "$$tmp/venv/bin/python" -m pip freeze --all --exclude-editable | LC_ALL=C sort -f; \
	} > "$$tmp/$(LOCK)" && mv "$$tmp/$(LOCK)" $(LOCK)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache $(VENDOR)/node_modules

## refresh the committed snapshot of the Dagster definitions and the generated table of
## docs/configuration.md after changing a definition or a setting on purpose
snapshot: $(STAMP)
	UPDATE_SNAPSHOTS=1 $(BIN)/python -m pytest -q gmpsai_assets_tests/test_definitions_snapshot.py \
	  gmpsai_assets_tests/test_settings.py::test_the_configuration_doc_lists_every_setting_as_the_model_has_it
