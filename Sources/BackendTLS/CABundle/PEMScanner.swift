/// One `-----BEGIN X-----` … `-----END X-----` block of a PEM text.
public struct PEMBlock: Sendable, Hashable {
    public var label: String
    public var der: [UInt8]
    /// 1-based line of the BEGIN line, for messages that point into the bundle.
    public var line: Int
}

/// Why a PEM text could not be read as a sequence of blocks.
public enum PEMScanError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingEnd(label: String, line: Int)
    case mismatchedEnd(begin: String, end: String, line: Int)
    case invalidBase64(label: String, line: Int)
    case endWithoutBegin(label: String, line: Int)
    /// `-----END …----------BEGIN …` on one line: files concatenated without a final newline.
    case joinedBoundaries(line: Int)

    public var description: String {
        switch self {
        case .missingEnd(let label, let line): "PEM block \"\(label)\" starting at line \(line) has no END line"
        case .mismatchedEnd(let begin, let end, let line):
            "PEM block \"\(begin)\" ends with \"END \(end)\" at line \(line)"
        case .invalidBase64(let label, let line): "PEM block \"\(label)\" starting at line \(line) is not valid base64"
        case .endWithoutBegin(let label, let line): "\"END \(label)\" at line \(line) has no matching BEGIN line"
        case .joinedBoundaries(let line):
            "line \(line) holds an END and a BEGIN line joined together (files concatenated without a final newline); put a line break between them"
        }
    }
}

/// Splits PEM text into blocks, allowing explanatory text between them (RFC 7468 §2).
///
/// Written for bundles: no regular expressions, one pass over the bytes, and base64 decoded in place,
/// so the system bundle (~140 certificates) scans in well under a millisecond.
public enum PEMScanner {
    public static func scan(_ bytes: [UInt8]) throws(PEMScanError) -> [PEMBlock] {
        var blocks: [PEMBlock] = []
        var current: (label: String, line: Int, body: [UInt8])?
        var lineNumber = 0
        var lineStart = 0
        while lineStart < bytes.count {
            lineNumber += 1
            var lineEnd = lineStart
            while lineEnd < bytes.count, bytes[lineEnd] != 0x0A { lineEnd += 1 }
            var trimmedEnd = lineEnd
            while trimmedEnd > lineStart,
                bytes[trimmedEnd - 1] == 0x0D || bytes[trimmedEnd - 1] == 0x20 || bytes[trimmedEnd - 1] == 0x09
            {
                trimmedEnd -= 1
            }
            var trimmedStart = lineStart
            while trimmedStart < trimmedEnd, bytes[trimmedStart] == 0x20 || bytes[trimmedStart] == 0x09 {
                trimmedStart += 1
            }
            let line = bytes[trimmedStart..<trimmedEnd]
            // Base64 lines never start with '-': only boundary lines pay for the boundary checks.
            guard line.first == UInt8(ascii: "-") else {
                // RFC 1421 headers (`Proc-Type:`, `DEK-Info:`) appear in encrypted legacy keys; keep them out of base64.
                if current != nil, !line.contains(UInt8(ascii: ":")) { current!.body.append(contentsOf: line) }
                lineStart = lineEnd + 1
                continue
            }
            if line.count > 40, line.starts(with: endPrefix), line.dropFirst(9).firstRange(of: beginPrefix) != nil {
                throw .joinedBoundaries(line: lineNumber)
            }
            if let label = boundaryLabel(line, prefix: beginPrefix) {
                if let open = current { throw .missingEnd(label: open.label, line: open.line) }
                current = (label, lineNumber, [])
            } else if let label = boundaryLabel(line, prefix: endPrefix) {
                guard let open = current else { throw .endWithoutBegin(label: label, line: lineNumber) }
                guard open.label == label else { throw .mismatchedEnd(begin: open.label, end: label, line: lineNumber) }
                guard let der = Base64.decode(open.body) else {
                    throw .invalidBase64(label: open.label, line: open.line)
                }
                blocks.append(PEMBlock(label: open.label, der: der, line: open.line))
                current = nil
            } else if current != nil {
                // RFC 1421 headers (`Proc-Type:`, `DEK-Info:`) appear in encrypted legacy keys; keep them out of base64.
                if !line.contains(UInt8(ascii: ":")) { current!.body.append(contentsOf: line) }
            }
            lineStart = lineEnd + 1
        }
        if let open = current { throw .missingEnd(label: open.label, line: open.line) }
        return blocks
    }

    private static let beginPrefix = Array("-----BEGIN ".utf8)
    private static let endPrefix = Array("-----END ".utf8)
    private static let boundarySuffix = Array("-----".utf8)

    private static func boundaryLabel(_ line: ArraySlice<UInt8>, prefix: [UInt8]) -> String? {
        let suffix = boundarySuffix
        guard line.count >= prefix.count + suffix.count, line.starts(with: prefix), line.suffix(5).elementsEqual(suffix)
        else {
            return nil
        }
        return String(decoding: line.dropFirst(prefix.count).dropLast(suffix.count), as: UTF8.self)
    }
}

/// Standard base64 (RFC 4648 §4) that skips whitespace, for PEM bodies and Kubernetes `data` fields.
public enum Base64 {
    private static let table: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(byte)] = UInt8(index)
        }
        return table
    }()

    public static func decode(_ input: [UInt8]) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(input.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        var padding = 0
        for byte in input {
            switch byte {
            case 0x20, 0x09, 0x0A, 0x0D: continue
            case UInt8(ascii: "="):
                padding += 1
                continue
            default:
                guard padding == 0 else { return nil }
                let value = table[Int(byte)]
                guard value != 0xFF else { return nil }
                accumulator = accumulator << 6 | UInt32(value)
                bits += 6
                if bits >= 8 {
                    bits -= 8
                    output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                }
            }
        }
        guard padding <= 2, bits < 6 else { return nil }
        return output
    }
}
