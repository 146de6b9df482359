"""The Dockerfile agrees with the charts (no Docker engine here to build it): binaries, paths, user."""

from __future__ import annotations

import re

from chartlib import REPO, SIDECAR_CHART, container, default_docs, find, render

DOCKERFILE = (REPO / "Dockerfile").read_text()
BINARIES = ("backendtls-webhook", "backendtls-sidecar", "backendtls")


def stages() -> list[str]:
    return re.split(r"^FROM ", DOCKERFILE, flags=re.MULTILINE)[1:]


def test_build_stage_makes_static_release_binaries_of_every_product():
    build, runtime = stages()
    assert build.startswith("swift:${SWIFT_VERSION}-${UBUNTU} AS build")
    assert re.search(r"^ARG SWIFT_VERSION=6\.\d+$", DOCKERFILE, flags=re.MULTILINE)
    # The image's binaries are built as `make sidecar-release` builds the benchmarked sidecar (RELEASE_FLAGS).
    (flags,) = re.findall(r"^RELEASE_FLAGS := (.+)$", (REPO / "Makefile").read_text(), flags=re.MULTILINE)
    command = " ".join(build.replace("\\\n", " ").split())
    assert f"swift build {flags} --product" in command
    package = (REPO / "Package.swift").read_text()
    (loop,) = re.findall(r"for product in ([^;]+);", build)
    assert tuple(loop.split()) == BINARIES
    for binary in BINARIES:
        assert f'.executable(name: "{binary}"' in package, binary
        assert f'"$bin/{binary}"' in build, binary


def test_build_stage_starts_the_sidecar_it_built():
    # The sidecar needs glibc's DT_RELR support (2.36, noble); an older base fails the build, not the pod.
    build, _ = stages()
    assert "/out/bin/backendtls-sidecar --help >/dev/null" in build
    assert re.search(r"^ARG UBUNTU=noble$", DOCKERFILE, flags=re.MULTILINE)
    assert "pack-relative-relocs" in (REPO / "Package.swift").read_text()


def test_runtime_stage_is_minimal_and_non_root():
    _, runtime = stages()
    assert runtime.startswith("ubuntu:${UBUNTU}")
    assert "--no-install-recommends ca-certificates" in runtime
    assert "COPY --from=build /out/bin/ /usr/local/bin/" in runtime
    assert re.search(r"^USER 65532:65532$", runtime, flags=re.MULTILINE)
    # The build context is the sources only: never .build (gigabytes) or tools/.
    rules = [line for line in (REPO / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert rules == ["*", "!Package.swift", "!Package.resolved", "!Sources/", "!Tests/"]


def test_charts_run_the_binaries_the_image_holds_as_its_user():
    webhook = container(default_docs(), "webhook")
    sidecar = container(render(SIDECAR_CHART, namespace="shop"), "backendtls-sidecar")
    for c in (webhook, sidecar):
        directory, binary = c["command"][0].rsplit("/", 1)
        assert directory == "/usr/local/bin" and binary in BINARIES
    pod = find(default_docs(), "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == 65532 == sidecar["securityContext"]["runAsUser"]
