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
    private var frameHeader: [UInt8] = []
    private var payloadLeft = 0
    /// A HEADERS frame without END_HEADERS was read: CONTINUATION frames follow until one has it.
    private var headerBlockOpen = false
    private var deadline: Scheduled<Void>?

    init(readTimeout: TimeAmount) {
        self.readTimeout = readTimeout
        frameHeader.reserveCapacity(9)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        buffer.withUnsafeReadableBytes { bytes in
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
                    frameHeader.append(bytes[index])
                    index += 1
                    if frameHeader.count == 9 { startFrame() }
                }
            }
        }
        let midway = (prefaceLeft > 0 && prefaceLeft < 24) || !frameHeader.isEmpty || payloadLeft > 0 || headerBlockOpen
        if midway {
            if deadline == nil {
                deadline = context.eventLoop.assumeIsolated().scheduleTask(in: readTimeout) {
                    context.close(promise: nil)
                }
            }
        } else {
            deadline?.cancel()
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    /// A frame header (length, type, flags, stream) was read whole.
    private func startFrame() {
        payloadLeft = Int(frameHeader[0]) << 16 | Int(frameHeader[1]) << 8 | Int(frameHeader[2])
        let type = frameHeader[3]
        let endHeaders = frameHeader[4] & 0x4 != 0
        // HEADERS (1) opens a header block, CONTINUATION (9) goes on with it; END_HEADERS closes it.
        if type == 0x1 || type == 0x9 { headerBlockOpen = !endHeaders }
        frameHeader.removeAll(keepingCapacity: true)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        context.fireChannelInactive()
    }
}
