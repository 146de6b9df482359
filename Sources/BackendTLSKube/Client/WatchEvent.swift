public import BackendTLS

/// One line of a watch stream: `{"type": "...", "object": {...}}`.
public struct WatchEvent: Sendable, Equatable {
    public enum EventType: String, Sendable {
        case added = "ADDED"
        case modified = "MODIFIED"
        case deleted = "DELETED"
        case bookmark = "BOOKMARK"
        case error = "ERROR"
    }

    public var type: EventType
    public var object: JSONValue

    public init(type: EventType, object: JSONValue) {
        self.type = type
        self.object = object
    }

    /// Decodes one line; throws a message naming what was wrong, so a bad event can be logged and skipped.
    public init(line: ArraySlice<UInt8>) throws(WatchEventError) {
        let value: JSONValue
        do {
            value = try line.withUnsafeBufferPointer { buffer throws(JSONParseError) in try JSONParser.parse(buffer) }
        } catch {
            throw WatchEventError(message: "not JSON: \(error)", line: line)
        }
        guard let typeName = value["type"]?.stringValue else {
            throw WatchEventError(message: "no \"type\"", line: line)
        }
        guard let type = EventType(rawValue: typeName) else {
            throw WatchEventError(message: "unknown type \(typeName.debugDescription)", line: line)
        }
        guard let object = value["object"], object.objectValue != nil else {
            throw WatchEventError(message: "no \"object\"", line: line)
        }
        self.init(type: type, object: object)
    }

    public var resourceVersion: String? { object["metadata"]?["resourceVersion"]?.stringValue }
}

public struct WatchEventError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// The start of the offending line (at most 200 bytes), for the log.
    public var excerpt: String

    init(message: String, line: ArraySlice<UInt8>) {
        self.message = message
        self.excerpt = String(decoding: line.prefix(200), as: UTF8.self)
    }

    public var description: String { "\(message) in \(excerpt.debugDescription)" }
}

/// Splits a chunked watch body into lines; chunk boundaries fall anywhere, events end at `\n`.
struct WatchLineSplitter {
    private var pending: [UInt8] = []
    /// One event larger than this is garbage (the API server caps objects at ~1.5 MiB).
    let maximumLineBytes: Int

    init(maximumLineBytes: Int = 16 << 20) {
        self.maximumLineBytes = maximumLineBytes
    }

    /// Feeds bytes; returns the complete lines they finish (without the newline, empty lines dropped).
    mutating func feed(_ bytes: some Sequence<UInt8>) throws(WatchEventError) -> [ArraySlice<UInt8>] {
        pending.append(contentsOf: bytes)
        var lines: [ArraySlice<UInt8>] = []
        var start = pending.startIndex
        while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
            let line = pending[start..<newline]
            if !line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { lines.append(line) }
            start = newline + 1
        }
        let result = lines.map { ArraySlice(Array($0)) }
        pending.removeSubrange(pending.startIndex..<start)
        if pending.count > maximumLineBytes {
            let excerpt = pending[...]
            pending.removeAll()
            throw WatchEventError(message: "an event longer than \(maximumLineBytes) bytes", line: excerpt)
        }
        return result
    }
}
