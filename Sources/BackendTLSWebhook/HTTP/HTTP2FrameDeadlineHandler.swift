import NIOCore

/// Byte-level guard for HTTP/2 connections, below the HTTP/2 handler: a frame, once its first byte arrives, and a
/// header block, once its HEADERS frame arrives, must be complete within the read timeout, or the connection closes.
///
/// Each stream times its request only once its headers are decoded, and the connection's idle timer counts every
/// byte; so without this a client trickling one frame (or a header block, a CONTINUATION at a time) would hold the
/// connection, and a few such clients every connection the webhook takes, for as long as they like.
final class HTTP2FrameDeadlineHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let readTimeout: TimeAmount
    /// The client preface ("PRI * HTTP/2.0…"), 24 bytes, comes before the first frame.
    private var prefaceLeft = 24
    /// The frame header read so far (9 bytes: length, type, flags, stream), big-endian, and how many bytes of it.
    private var frameHeader: UInt64 = 0
    private var frameHeaderBytes = 0
    /// The length's first byte: nine bytes do not fit the 64 bits of `frameHeader`, which keeps the last eight.
    private var lengthHighByte = 0
    private var payloadLeft = 0
    /// A HEADERS frame without END_HEADERS was read: CONTINUATION frames follow until one has it.
    private var headerBlockOpen = false
    /// Since when something has been left unfinished; nil while the connection is between frames.
    private var midwaySince: NIODeadline?
    /// One check at a time: scheduling and cancelling a task on every read would cost more than the reads.
    private var check: Scheduled<Void>?

    init(readTimeout: TimeAmount) {
        self.readTimeout = readTimeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        unwrapInboundIn(data).withUnsafeReadableBytes { bytes in
            var index = 0
            while index < bytes.count {
                let left = bytes.count - index
                if prefaceLeft > 0 {
                    let taken = min(prefaceLeft, left)
                    prefaceLeft -= taken
                    index += taken
                } else if payloadLeft > 0 {
                    let taken = min(payloadLeft, left)
                    payloadLeft -= taken
                    index += taken
                } else {
                    if frameHeaderBytes == 0 { lengthHighByte = Int(bytes[index]) }
                    frameHeader = frameHeader << 8 | UInt64(bytes[index])
                    frameHeaderBytes += 1
                    index += 1
                    if frameHeaderBytes == 9 { startFrame() }
                }
            }
        }
        let midway = (prefaceLeft > 0 && prefaceLeft < 24) || frameHeaderBytes > 0 || payloadLeft > 0 || headerBlockOpen
        if !midway {
            midwaySince = nil
        } else if midwaySince == nil {
            midwaySince = context.eventLoop.now
            if check == nil { scheduleCheck(at: context.eventLoop.now + readTimeout, context: context) }
        }
        context.fireChannelRead(data)
    }

    /// A frame header was read whole: its payload follows.
    private func startFrame() {
        // Length (24 bits), type, flags, then the 32-bit stream identifier.
        payloadLeft = lengthHighByte << 16 | Int(frameHeader >> 48 & 0xFFFF)
        let type = UInt8(frameHeader >> 40 & 0xFF)
        let endHeaders = frameHeader >> 32 & 0x4 != 0
        // HEADERS (1) opens a header block, CONTINUATION (9) goes on with it; END_HEADERS closes it.
        if type == 0x1 || type == 0x9 { headerBlockOpen = !endHeaders }
        frameHeader = 0
        frameHeaderBytes = 0
    }

    /// Closes the connection if what was started when it was armed is still unfinished `readTimeout` later.
    private func scheduleCheck(at deadline: NIODeadline, context: ChannelHandlerContext) {
        check = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            check = nil
            guard let since = midwaySince else { return }
            if since + readTimeout <= context.eventLoop.now {
                context.close(promise: nil)
            } else {
                scheduleCheck(at: since + readTimeout, context: context)
            }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        check?.cancel()
    }

    func channelInactive(context: ChannelHandlerContext) {
        check?.cancel()
        context.fireChannelInactive()
    }
}
