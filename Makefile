# Clapshot server in Go. `make help` lists the targets.

GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -s -w -X github.com/clapshot-go/clapshot/internal/version.Version=$(VERSION)
BIN         := bin
DATA_DIR    ?= $(CURDIR)/data
RUN_FLAGS   ?=
# A live-camera config for `make run` (e.g. docs/examples/live.toml, whose
# camera `make demo-live` starts); none by default.
LIVE_CONFIG ?=
# Pinned tools (code generators, nfpm) are installed here, whatever BIN is.
TOOLS       ?= $(CURDIR)/bin/tools

.PHONY: help run build server worker organizer video-server ui test test-web lint weed nats-server bench proto deb deb-package demo demo-live deps-run deps-demo deps-test deps-bench clean

# The web UI (web/) is built with npm into web/dist, which the server embeds.
# It is rebuilt only when its sources change.
WEB_SRC := $(shell find web/src web/public -type f 2>/dev/null) \
	web/index.html web/package.json web/vite.config.ts web/svelte.config.js web/tsconfig.json
WEB_DEPS := web/node_modules/.package-lock.json

help: ## List targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

run: deps-run build ## Set up, build and start a server on ./data (http://127.0.0.1:8095/); LIVE_CONFIG=FILE adds cameras
	@mkdir -p "$(DATA_DIR)"
	$(BIN)/clapshot-server --data-dir "$(DATA_DIR)" --migrate $(if $(LIVE_CONFIG),--live-config "$(LIVE_CONFIG)") $(RUN_FLAGS)

build: ui ## Build everything (web UI, then the server embedding it) into ./bin
	@$(MAKE) --no-print-directory server

ui: web/dist/index.html ## Build the web UI into web/dist (embedded by the server)

$(WEB_DEPS): web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	@touch $@

web/dist/index.html: $(WEB_DEPS) $(WEB_SRC)
	cd web && npm run build

server: ## Build the server binary
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/clapshot-server ./cmd/clapshot-server

worker: ## Build clapshot-worker, the separate transcode worker (docs/deployment.md, several instances)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/clapshot-worker ./cmd/clapshot-worker

video-server: ## Build video_server, the LdDl/video-server drop-in (docs/live.md)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/video_server ./cmd/video_server

organizer: ## Build the folders organizer (once cmd/clapshot-organizer-folders exists)
ifneq ($(wildcard cmd/clapshot-organizer-folders),)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/clapshot-organizer-folders ./cmd/clapshot-organizer-folders
else
	@echo "organizer: cmd/clapshot-organizer-folders does not exist yet; skipped"
endif

# Debian packages, built with nfpm (pinned, installed into $(TOOLS) once).
NFPM_VERSION := v2.43.0
NFPM        := $(TOOLS)/nfpm-$(NFPM_VERSION)/nfpm
DEB_DIR     ?= dist
DEB_VERSION ?= $(shell packaging/version.sh)
DEB_ARCH    ?= $(shell dpkg --print-architecture 2>/dev/null || $(GO) env GOARCH)

deb: build organizer worker ## Build the .deb packages into dist/ (versioned from git)
	@$(MAKE) --no-print-directory deb-package

# nfpm expands ${VAR} in the version and arch fields but not in file paths,
# so BIN_DIR is substituted into a copy of each config.
define nfpm_package # $(call nfpm_package,<name>)
	sed 's|$${BIN_DIR}|$(BIN)|g' packaging/nfpm/$(1).yaml >$(DEB_DIR)/.$(1).nfpm.yaml
	DEB_VERSION=$(DEB_VERSION) DEB_ARCH=$(DEB_ARCH) $(NFPM) package -p deb \
		-f $(DEB_DIR)/.$(1).nfpm.yaml -t $(DEB_DIR)/$(1)_$(DEB_VERSION)_$(DEB_ARCH).deb
	@rm -f $(DEB_DIR)/.$(1).nfpm.yaml
endef

# Packages the binaries already in $(BIN) (the tests build them with
# `make server worker organizer`, without rebuilding the web UI).
deb-package: $(NFPM)
	@mkdir -p $(DEB_DIR)
	$(call nfpm_package,clapshot-server)
ifneq ($(wildcard cmd/clapshot-organizer-folders),)
	$(call nfpm_package,clapshot-organizer-folders)
else
	@echo "deb: no clapshot-organizer-folders package yet (cmd/clapshot-organizer-folders does not exist)"
endif

$(NFPM):
	GOBIN=$(dir $(NFPM)) $(GO) install github.com/goreleaser/nfpm/v2/cmd/nfpm@$(NFPM_VERSION)

DEMO_DIR  ?= $(CURDIR)/demo
DEMO_PORT ?= 8080

demo: deps-demo build organizer ## nginx with basic auth + server (+ organizer) on 127.0.0.1:8080; Ctrl-C stops all
	$(GO) build -o $(BIN)/demo ./tools/demo
	$(BIN)/demo -server $(BIN)/clapshot-server -organizer $(BIN)/clapshot-organizer-folders -dir "$(DEMO_DIR)" -port $(DEMO_PORT)

# A test camera (ffmpeg's testsrc2 with a burnt-in clock, published to an
# RTSP server on 127.0.0.1:8554) and video_server with the example config.
# `make run LIVE_CONFIG=docs/examples/live.toml` in another terminal shows
# the same camera on the review app's Live page.
DEMO_LIVE_CONF ?= docs/examples/live.toml
DEMO_LIVE_FLAGS ?=

demo-live: deps-run video-server ## A test camera on rtsp://127.0.0.1:8554/cam + video_server with docs/examples/live.toml; Ctrl-C stops all
	$(GO) build -o $(BIN)/demo-live ./tools/demo-live
	$(BIN)/demo-live -video-server $(BIN)/video_server -conf $(DEMO_LIVE_CONF) -dir "$(DEMO_DIR)/live" $(DEMO_LIVE_FLAGS)

test: deps-test lint ui weed nats-server ## The whole test suite (installs what it needs when run as root)
	$(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) test-web

test-web: build organizer ## Web UI: type check, unit tests (vitest), end-to-end tests in Chromium
	cd web && npm run proto:check && npm run check && npm test
	$(GO) build -o $(BIN)/demo-live ./tools/demo-live
	cd web && CLAPSHOT_SERVER=$(CURDIR)/$(BIN)/clapshot-server CLAPSHOT_ORGANIZER=$(CURDIR)/$(BIN)/clapshot-organizer-folders \
		CLAPSHOT_DEMO_LIVE=$(CURDIR)/$(BIN)/demo-live npm run e2e

# golangci-lint, pinned like the other tools: go vet's checks, errcheck,
# staticcheck, ineffassign, unused, errorlint and gofmt (.golangci.yml says
# why each one).
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT         := $(TOOLS)/golangci-lint-$(GOLANGCI_LINT_VERSION)/golangci-lint

lint: $(GOLANGCI_LINT) ## golangci-lint: vet, errcheck, staticcheck, ... and gofmt (see .golangci.yml)
# --allow-parallel-runners: several checkouts on one machine share golangci-lint's lock;
# without it a second run fails instead of waiting.
	$(GOLANGCI_LINT) run --allow-parallel-runners ./...

$(GOLANGCI_LINT):
	GOBIN=$(dir $(GOLANGCI_LINT)) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

# SeaweedFS (Apache-2.0): the real S3-compatible server the S3 tests
# start on loopback (internal/testsupport/s3test.Start). `go install` refuses
# its module (its go.mod has replace directives), so it is built in the
# module's own directory. The build is long (about 10 min of CPU; 40 min
# on a busy 2-core machine) and is stopped after WEED_BUILD_TIMEOUT seconds.
WEED_VERSION       := v0.0.0-20261109003541-7506e5f91cd6
WEED               := $(TOOLS)/weed-$(WEED_VERSION)/weed
WEED_BUILD_TIMEOUT ?= 3600

weed: $(WEED) ## Build SeaweedFS's weed into bin/tools (the S3 server of the archive tests)

$(WEED):
	@mkdir -p $(dir $(WEED))
	@echo "Building SeaweedFS $(WEED_VERSION) for the S3 tests (long; at most $(WEED_BUILD_TIMEOUT) s)"
	dir=$$(cd / && $(GO) mod download -json github.com/seaweedfs/seaweedfs@$(WEED_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p') && \
		test -n "$$dir" && cd "$$dir" && \
		timeout $(WEED_BUILD_TIMEOUT) $(GO) build -trimpath -buildvcs=false -o $(WEED).tmp ./weed && mv $(WEED).tmp $(WEED)

# NATS (Apache-2.0): the message server of the --fanout-url nats:// tests
# (internal/testsupport/natstest.Start); about a minute to build.
NATS_SERVER_VERSION := v2.15.3
NATS_SERVER         := $(TOOLS)/nats-server-$(NATS_SERVER_VERSION)/nats-server

nats-server: $(NATS_SERVER) ## Build nats-server into bin/tools (the NATS fan-out tests)

$(NATS_SERVER):
	GOBIN=$(dir $(NATS_SERVER)) $(GO) install github.com/nats-io/nats-server/v2@$(NATS_SERVER_VERSION)

# The live suite compares with mediamtx, built by hand (see docs/BENCHMARKS.md);
# give its path with BENCH_FLAGS="-mediamtx PATH" if it is not the default.
bench: deps-bench build video-server worker ## Run the benchmarks and write docs/BENCHMARKS.md
	$(GO) run ./tools/bench -server $(BIN)/clapshot-server -video-server $(BIN)/video_server -worker $(BIN)/clapshot-worker -out docs/BENCHMARKS.md $(BENCH_FLAGS)

# Code generators, pinned; installed into bin/tools so they never depend on
# what happens to be on PATH.
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.5.1
PROTO_FILES                := common client organizer database clapshot

proto: $(WEB_DEPS) ## Regenerate proto/clapshotpb (Go) and web/src/proto (TypeScript) from proto/*.proto
	@command -v protoc >/dev/null || { echo "protoc missing: apt-get install protobuf-compiler libprotobuf-dev"; exit 1; }
	GOBIN=$(TOOLS) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	GOBIN=$(TOOLS) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	rm -f proto/clapshotpb/*.pb.go
	PATH="$(TOOLS):$$PATH" protoc -I proto \
		--go_out=. --go_opt=module=github.com/clapshot-go/clapshot \
		--go-grpc_out=. --go-grpc_opt=module=github.com/clapshot-go/clapshot \
		$(addprefix proto/,$(addsuffix .proto,$(PROTO_FILES)))
	cd web && npm run proto

deps-run:
	@./scripts/deps.sh run
deps-test:
	@./scripts/deps.sh test
deps-bench:
	@./scripts/deps.sh bench
deps-demo:
	@./scripts/deps.sh demo

clean: ## Remove build output (not ./data)
	rm -rf $(BIN) $(DEB_DIR) web/node_modules
	find web/dist -mindepth 1 ! -name .gitkeep -delete 2>/dev/null || true
