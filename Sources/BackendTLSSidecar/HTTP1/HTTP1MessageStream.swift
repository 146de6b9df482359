import NIOCore
import NIOHTTP1

/// The message framing both of HTTP mode's parsers share: a head block up to its empty line, then a body by
/// length, by chunks (with trailers) or until the connection closes. The parsers read the heads and decide the
/// framing; this takes bytes in whatever pieces they arrive, holds a head, chunk-size line or trailer section
/// until it is whole (scanning each byte once), and hands body bytes on as slices of what was read.
struct HTTP1MessageStream {
    enum Framing {
        case none
        case length(Int)
        case chunked
        case untilClose

        /// What a head's `Content-Length` and `Transfer-Encoding` say (HTTP1Syntax.framing), or `otherwise`
        /// without either: no body for a request, one that runs until the close for a response.
        init(chunked: Bool, length: Int?, otherwise: Framing) {
            if chunked {
                self = .chunked
            } else if let length {
                self = .length(length)
            } else {
                self = otherwise
            }
        }
    }

    enum Step {
        /// A head's lines, each with its CRLF (the empty line after them is consumed).
        case head(ByteBuffer)
        case body(ByteBuffer)
        case end(HTTP1Trailers?)
    }

    private enum State {
        case awaitingHead
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkEnd
        case trailers
        case untilClose
        /// The body is over: `.end` is next.
        case ending
        /// Between messages, when bytes are not expected: they are refused.
        case between
        /// Nothing more is read: bytes are dropped.
        case stopped
    }

    /// "backend" or "client", for messages.
    let party: String
    /// "response" or "request".
    let message: String
    /// The names of what is read, for messages: made once, not for every head.
    private let headName: String
    private let chunkLineName: String
    private let trailersName: String
    private var state = State.between
    /// What was read and not parsed yet.
    private var input = ByteBuffer()
    private var partial: ByteBuffer?
    /// How much of `partial` is whole lines already checked, and how much of the line after them (see
    /// `headBlock`).
    private var scanned = 0
    private var scannedInLine = 0

    init(party: String, message: String) {
        self.party = party
        self.message = message
        headName = "the \(party)'s \(message) head"
        chunkLineName = "the \(party)'s chunk size line"
        trailersName = "the \(party)'s trailer section"
    }

    /// The next bytes start a head.
    mutating func expectHead() { state = .awaitingHead }

    /// The bytes after a message are refused until `expectHead`.
    mutating func refuseBytes() { state = .between }

    /// Nothing more is read.
    mutating func stop() {
        state = .stopped
        input = ByteBuffer()
        partial = nil
        scanned = 0
        scannedInLine = 0
    }

    /// No message is under way and nothing is held.
    var isBetweenMessages: Bool {
        if case .between = state, partial == nil, input.readableBytes == 0 { return true }
        return false
    }

    /// Starts the body of the head just read (`.end` follows at once for none).
    mutating func startBody(_ framing: Framing) {
        switch framing {
        case .none, .length(0): state = .ending
        case .length(let length): state = .fixedBody(remaining: length)
        case .chunked: state = .chunkSize
        case .untilClose: state = .untilClose
        }
    }

    /// The connection closed: whether that ends a body that runs until the close.
    mutating func closed() -> Bool {
        guard case .untilClose = state else { return false }
        state = .between
        return true
    }

    /// Takes what was read, after what is held; nothing once stopped.
    mutating func receive(_ bytes: ByteBuffer) {
        if case .stopped = state { return }
        if input.readableBytes > 0 {
            input.writeImmutableBuffer(bytes)
        } else if var held = partial {
            partial = nil
            held.writeImmutableBuffer(bytes)
            input = held
        } else {
            input = bytes
        }
    }

    /// The next step from what was received, or nil when more bytes are needed (what remains is held) or none are
    /// read.
    /// After `.end`, the owner says what comes next (`expectHead`, `refuseBytes` or `stop`).
    mutating func next() throws(HTTP1Syntax.Malformed) -> Step? {
        let step = try parseStep()
        if step == nil, input.readableBytes == 0 {
            // Everything read is parsed: the buffer it came in is let go. NIO reuses a channel's read buffer, and TLS
            // its 32 KiB plaintext buffer, only while nobody else holds it; TLS copied it whole before its next read.
            input = ByteBuffer()
        }
        return step
    }

    private mutating func parseStep() throws(HTTP1Syntax.Malformed) -> Step? {
        switch state {
        case .stopped:
            input.moveReaderIndex(to: input.writerIndex)
            return nil
        case .between:
            guard input.readableBytes == 0 else {
                throw HTTP1Syntax.fail("the \(party) sent bytes when no \(message) was due")
            }
            return nil
        case .awaitingHead:
            guard let length = try headBlock(in: input, what: headName) else {
                return hold()
            }
            let block = input.readSlice(length: length)!
            input.moveReaderIndex(forwardBy: 2)
            state = .between
            return .head(block)
        case .fixedBody(let remaining):
            guard input.readableBytes > 0 else { return nil }
            let count = min(remaining, input.readableBytes)
            let slice = input.readSlice(length: count)!
            state = count == remaining ? .ending : .fixedBody(remaining: remaining - count)
            return .body(slice)
        case .chunkSize:
            guard
                let lineEnd = try HTTP1Syntax.lineEnd(in: input, limit: 4096, what: chunkLineName)
            else { return hold() }
            let size = try HTTP1Syntax.chunkSize(input.readSlice(length: lineEnd)!, party: party)
            input.moveReaderIndex(forwardBy: 2)
            state = size == 0 ? .trailers : .chunkData(remaining: size)
            return try parseStep()
        case .chunkData(let remaining):
            guard input.readableBytes > 0 else { return nil }
            let count = min(remaining, input.readableBytes)
            let slice = input.readSlice(length: count)!
            state = count == remaining ? .chunkEnd : .chunkData(remaining: remaining - count)
            return .body(slice)
        case .chunkEnd:
            guard input.readableBytes >= 2 else { return hold() }
            guard input.readInteger(as: UInt16.self) == 0x0D0A else {
                throw HTTP1Syntax.fail("the \(party) sent a chunk that does not end in CRLF")
            }
            state = .chunkSize
            return try parseStep()
        case .trailers:
            guard let length = try headBlock(in: input, what: trailersName) else {
                return hold()
            }
            guard length > 0 else {
                input.moveReaderIndex(forwardBy: 2)
                state = .between
                return .end(nil)
            }
            let block = input.readSlice(length: length)!
            input.moveReaderIndex(forwardBy: 2)
            let trailers = try HTTP1Trailers.read(block, party: party).get()
            state = .between
            return .end(trailers)
        case .untilClose:
            guard input.readableBytes > 0 else { return nil }
            return .body(input.readSlice(length: input.readableBytes)!)
        case .ending:
            state = .between
            return .end(nil)
        }
    }

    /// Keeps the unread bytes (at most a head, a chunk-size line or a chunk's CRLF) as a copy of their own: the
    /// buffer they came in also holds what was read before them, which a slice would keep alive and copy along
    /// with every append.
    private mutating func hold() -> Step? {
        if input.readableBytes > 0 {
            partial = ByteBuffer(bytes: input.readableBytesView)
            input.moveReaderIndex(to: input.writerIndex)
        }
        return nil
    }

    /// The length of the lines before the first empty line of `input` (their last CRLF included; the empty
    /// line's CRLF follows), or nil if it has not come yet. A head that arrives in pieces is scanned once: the
    /// lines already checked are remembered.
    private mutating func headBlock(in input: ByteBuffer, what: String) throws(HTTP1Syntax.Malformed) -> Int? {
        let limit = HTTP1Syntax.maximumHeadSize
        let (scanned, scannedInLine) = (self.scanned, self.scannedInLine)
        // One pass over the bytes for all the lines: a slice of the buffer per line cost more than scanning it.
        let scan = input.withUnsafeReadableBytes { bytes -> HeadScan in
            var offset = scanned
            // The last byte scanned is scanned again, in case it is a CR.
            var from = offset + max(0, scannedInLine - 1)
            while true {
                switch HTTP1Syntax.scanLineEnd(bytes, from: from) {
                case .bare: return .bare
                case .incomplete:
                    return bytes.count > limit ? .tooLong : .incomplete(scanned: offset, inLine: bytes.count - offset)
                case .found(let end):
                    guard end <= limit else { return .tooLong }
                    if end == offset { return .complete(length: offset) }
                    offset = end + 2
                    from = offset
                    guard offset <= limit else { return .tooLong }
                }
            }
        }
        switch scan {
        case .complete(let length):
            self.scanned = 0
            self.scannedInLine = 0
            return length
        case .incomplete(let scanned, let inLine):
            self.scanned = scanned
            self.scannedInLine = inLine
            return nil
        case .bare: throw HTTP1Syntax.fail("\(what) has a line end other than CRLF")
        case .tooLong: throw HTTP1Syntax.fail("\(what) exceeds \(limit) bytes")
        }
    }

    private enum HeadScan {
        case complete(length: Int)
        case incomplete(scanned: Int, inLine: Int)
        case bare
        case tooLong
    }
}
