# Clapshot server in Go. `make help` lists the targets.

GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -s -w -X github.com/clapshot-go/clapshot/internal/version.Version=$(VERSION)
BIN         := bin
DATA_DIR    ?= $(CURDIR)/data
RUN_FLAGS   ?=

.PHONY: help run build server organizer test lint bench deb demo deps-run deps-test deps-bench clean

help: ## List targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

run: deps-run build ## Set up, build and start a server on ./data (http://127.0.0.1:8095/)
	@mkdir -p "$(DATA_DIR)"
	$(BIN)/clapshot-server --data-dir "$(DATA_DIR)" --migrate $(RUN_FLAGS)

build: server ## Build everything into ./bin

server: ## Build the server binary
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/clapshot-server ./cmd/clapshot-server

# Folders organizer: built once cmd/clapshot-organizer-folders exists.
organizer: ## Build the folders organizer (when cmd/clapshot-organizer-folders exists)
	@if [ -d cmd/clapshot-organizer-folders ]; then \
		echo CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/clapshot-organizer-folders ./cmd/clapshot-organizer-folders; \
		CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/clapshot-organizer-folders ./cmd/clapshot-organizer-folders; \
	else echo "organizer: cmd/clapshot-organizer-folders does not exist yet; skipped"; fi

# Debian packages, built with nfpm (pinned; installed into bin/tools once).
NFPM_VERSION := v2.43.0
TOOLS       ?= $(CURDIR)/bin/tools
NFPM        := $(TOOLS)/nfpm-$(NFPM_VERSION)/nfpm
DEB_DIR     ?= dist
DEB_VERSION ?= $(shell packaging/version.sh)
DEB_ARCH    ?= $(shell dpkg --print-architecture 2>/dev/null || $(GO) env GOARCH)

# nfpm expands ${VAR} in the version and arch fields but not in file paths,
# so BIN_DIR is substituted into a copy of each config.
define nfpm_package # $(call nfpm_package,<name>)
	sed 's|$${BIN_DIR}|$(BIN)|g' packaging/nfpm/$(1).yaml >$(DEB_DIR)/.$(1).nfpm.yaml
	DEB_VERSION=$(DEB_VERSION) DEB_ARCH=$(DEB_ARCH) $(NFPM) package -p deb \
		-f $(DEB_DIR)/.$(1).nfpm.yaml -t $(DEB_DIR)/$(1)_$(DEB_VERSION)_$(DEB_ARCH).deb
	@rm -f $(DEB_DIR)/.$(1).nfpm.yaml
endef

deb: build organizer $(NFPM) ## Build the .deb packages into dist/ (versioned from git)
	@mkdir -p $(DEB_DIR)
	$(call nfpm_package,clapshot-server)
ifneq ($(wildcard cmd/clapshot-organizer-folders),)
	$(call nfpm_package,clapshot-organizer-folders)
else
	@echo "deb: no clapshot-organizer-folders package yet (cmd/clapshot-organizer-folders does not exist)"
endif

$(NFPM):
	GOBIN=$(abspath $(dir $(NFPM))) $(GO) install github.com/goreleaser/nfpm/v2/cmd/nfpm@$(NFPM_VERSION)

test: deps-test lint ## The whole test suite (installs what it needs when run as root)
	$(GO) test -race -count=1 -timeout 20m ./...

lint: ## go vet and a gofmt check
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go') | grep -v '\.pb\.go$$' || true); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on:"; echo "$$unformatted"; exit 1; fi

bench: deps-bench server ## Run the benchmarks and write docs/BENCHMARKS.md
	$(GO) run ./tools/bench -server $(BIN)/clapshot-server -out docs/BENCHMARKS.md $(BENCH_FLAGS)

deps-run:
	@./scripts/deps.sh run
deps-test:
	@./scripts/deps.sh test
deps-bench:
	@./scripts/deps.sh bench

clean: ## Remove build output (not ./data)
	rm -rf $(BIN)
