import Foundation
import Testing

/// The release sidecar's own link inputs (Package.swift, Linux release builds only), which `make sidecar-release`
/// and the image build use but CI, building no release sidecar, would not read: each is linked here into a small
/// program with the toolchain's clang and lld, as the sidecar's link uses it.
struct SidecarReleaseLinkTests {
    static let sidecarSources = ProcessRunner.packageRoot.appendingPathComponent("Sources/backendtls-sidecar")

    /// lld reads the section script and the order file, and the script adds to the default layout instead of
    /// replacing it (without INSERT it would: no .init, no .data, and a program that does not start).
    @Test func sectionScriptAndOrderFileKeepTheDefaultLayout() throws {
        let directory = try ProcessRunner.temporaryDirectory("release-link")
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("main.c")
        try "int answer = 42;\nint main(void) { return answer - 42; }\n".write(
            to: source, atomically: true, encoding: .utf8)
        let program = directory.appendingPathComponent("program")
        let link = try ProcessRunner.run(
            "clang",
            [
                "-fuse-ld=lld", "-ffunction-sections", source.path, "-o", program.path,
                "-Wl,-T,\(Self.sidecarSources.path)/hot-sections.ld",
                "-Wl,--symbol-ordering-file=\(Self.sidecarSources.path)/hot-functions.order",
                "-Wl,--no-warn-symbol-ordering",
            ])
        #expect(link.status == 0, "\(link.standardError)")
        #expect(try ProcessRunner.run(program.path, []).status == 0)
        let sections = try ProcessRunner.run("readelf", ["-SW", program.path]).standardOutput
        for name in [".text", ".init", ".data", ".dynamic"] {
            #expect(sections.contains(" \(name) "), "no \(name) section:\n\(sections)")
        }
    }

    /// `link/libstdc++.so`, found first on the library path, makes `-lstdc++` link the static library: the program
    /// runs and needs no libstdc++.so. The same link without it needs libstdc++.so, so the check can fail.
    @Test func libstdcxxShimLinksTheStaticLibrary() throws {
        let directory = try ProcessRunner.temporaryDirectory("release-link")
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("main.cc")
        try """
        #include <cstdio>
        #include <string>
        int main() {
            std::string text("static");
            text += " libstdc++";
            std::puts(text.c_str());
        }

        """.write(to: source, atomically: true, encoding: .utf8)
        func needed(shim: Bool) throws -> (status: Int32, output: String, needed: String) {
            let program = directory.appendingPathComponent(shim ? "with-shim" : "without-shim")
            let link = try ProcessRunner.run(
                "clang++",
                ["-fuse-ld=lld", source.path, "-o", program.path]
                    + (shim ? ["-L\(Self.sidecarSources.path)/link"] : []))
            #expect(link.status == 0, "\(link.standardError)")
            let run = try ProcessRunner.run(program.path, [])
            let dynamic = try ProcessRunner.run("readelf", ["-d", program.path]).standardOutput
            return (run.status, run.standardOutput, dynamic)
        }
        let withShim = try needed(shim: true)
        #expect(withShim.status == 0 && withShim.output == "static libstdc++\n", "\(withShim.output)")
        #expect(!withShim.needed.contains("libstdc++.so"), "\(withShim.needed)")
        #expect(try needed(shim: false).needed.contains("libstdc++.so"))
    }
}
