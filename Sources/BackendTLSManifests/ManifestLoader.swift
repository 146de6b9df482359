import BackendTLS
import Foundation

/// Reads `-f` arguments: files, directories (their `.yaml`, `.yml` and `.json` files, sorted) or `-` (stdin).
public enum ManifestLoader {
    public static func load(_ paths: [String]) throws(ManifestError) -> [Manifest] {
        var manifests: [Manifest] = []
        for path in paths {
            for file in try expand(path) {
                manifests.append(contentsOf: try ManifestParser.parse(try read(file), source: file))
            }
        }
        return manifests
    }

    static func expand(_ path: String) throws(ManifestError) -> [String] {
        if path == "-" { return ["-"] }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .unreadable(path: path, reason: "no such file or directory")
        }
        guard isDirectory.boolValue else { return [path] }
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        let base = path.hasSuffix("/") ? String(path.dropLast()) : path
        return entries.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") || $0.hasSuffix(".json") }
            .sorted()
            .map { "\(base)/\($0)" }
    }

    static func read(_ path: String) throws(ManifestError) -> String {
        let data: Data
        if path == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let contents = FileManager.default.contents(atPath: path) else {
                throw .unreadable(path: path, reason: "permission denied or not a regular file")
            }
            data = contents
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .unreadable(path: path, reason: "not UTF-8 text")
        }
        return text
    }
}
