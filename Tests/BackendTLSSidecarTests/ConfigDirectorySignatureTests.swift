import Foundation
import Testing

@testable import BackendTLSSidecar

/// `--config-dir` reloads when its signature changes: it must change with any edit, also one that keeps a file's
/// size, its first bytes and its modification time (a rotated CA bundle of the same length), and only then.
struct ConfigDirectorySignatureTests {
    static let header = """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: backend-ca
          namespace: default
        data:
          ca.crt: |

        """

    private func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("signature-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    private func write(_ text: String, to file: URL, modified: Date) throws {
        try text.write(to: file, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: file.path)
    }

    @Test func seesAnEditThatKeepsSizeHeaderAndTime() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("ca.yaml")
        let time = Date(timeIntervalSince1970: 1_700_000_000)
        try write(Self.header + "    AAAA\n", to: file, modified: time)
        let before = ConfigDirectorySource.signature(of: directory.path)
        #expect(ConfigDirectorySource.signature(of: directory.path) == before, "unchanged files, another signature")

        try write(Self.header + "    AAAB\n", to: file, modified: time)
        #expect(ConfigDirectorySource.signature(of: directory.path) != before)
    }

    @Test func seesFilesAddedAndRemoved() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let empty = ConfigDirectorySource.signature(of: directory.path)
        try write("", to: directory.appendingPathComponent("empty.yaml"), modified: Date())
        let withEmptyFile = ConfigDirectorySource.signature(of: directory.path)
        #expect(withEmptyFile != empty)
        try FileManager.default.removeItem(at: directory.appendingPathComponent("empty.yaml"))
        #expect(ConfigDirectorySource.signature(of: directory.path) == empty)
    }
}
