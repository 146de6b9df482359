import NIOCore
import NIOEmbedded
import Testing

@testable import BackendTLSWebhook

/// The HTTP/2 guard reads frame boundaries from the bytes: whole frames and closed header blocks leave the connection
/// alone, however long it then waits; a started frame or an open header block closes it after the read timeout.
struct HTTP2FrameDeadlineHandlerTests {
    private static func frame(length: Int, type: UInt8, flags: UInt8, stream: UInt32 = 1) -> [UInt8] {
        [UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), type, flags]
            + [UInt8(stream >> 24 & 0x7F), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF)]
    }

    private func send(_ bytes: [UInt8], to channel: EmbeddedChannel) throws {
        try channel.writeInbound(ByteBuffer(bytes: bytes))
        _ = try channel.readInbound(as: ByteBuffer.self)
    }

    @Test func onlyAnUnfinishedFrameOrHeaderBlockClosesTheConnection() throws {
        let loop = EmbeddedEventLoop()
        let channel = EmbeddedChannel(handler: HTTP2FrameDeadlineHandler(readTimeout: .seconds(1)), loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 443)).wait()
        // The preface and an empty SETTINGS frame, split across reads.
        let preface =
            Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + Self.frame(length: 0, type: 0x4, flags: 0, stream: 0)
        try send(Array(preface.prefix(10)), to: channel)
        try send(Array(preface.dropFirst(10)), to: channel)
        loop.advanceTime(by: .seconds(2))
        #expect(channel.isActive, "whole frames, then silence: the idle timeout's business")

        // HEADERS without END_HEADERS opens a block; its CONTINUATION with END_HEADERS closes it.
        try send(Self.frame(length: 3, type: 0x1, flags: 0) + [1, 2, 3], to: channel)
        loop.advanceTime(by: .milliseconds(600))
        try send(Self.frame(length: 2, type: 0x9, flags: 0x4) + [4, 5], to: channel)
        loop.advanceTime(by: .seconds(2))
        #expect(channel.isActive, "the header block was finished in time")

        // A DATA frame of 70,000 bytes (its length's first byte counts), of which 100 arrive.
        try send(Self.frame(length: 70_000, type: 0x0, flags: 0) + [UInt8](repeating: 0, count: 100), to: channel)
        loop.advanceTime(by: .milliseconds(900))
        #expect(channel.isActive)
        try send([UInt8](repeating: 0, count: 100), to: channel)
        loop.advanceTime(by: .milliseconds(200))
        #expect(!channel.isActive, "a frame still unfinished a read timeout after it began")
    }
}
