/// Sends `request` to 127.0.0.1:`port` in one write over plain TCP, and reads until the other side closes the
/// connection (or 10 s pass): every byte received, as bytes (answers under test may hold bytes that are not UTF-8),
/// and whether it closed.
func rawExchange(_ request: String, port: Int) throws -> (received: [UInt8], closed: Bool) {
    let client = #"""
        import socket, sys
        with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10) as s:
            s.sendall(sys.argv[2].encode())
            data, closed = b"", False
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        closed = True
                        break
                    data += chunk
            except socket.timeout:
                pass
            print("closed" if closed else "open", data.hex())
        """#
    let output = try ProcessRunner.run("python3", ["-c", client, String(port), request])
    let fields = output.standardOutput.split(separator: " ", omittingEmptySubsequences: false)
    let hex = Array((fields.count > 1 ? fields[1] : "").utf8.filter { $0 != UInt8(ascii: "\n") })
    let received = stride(from: 0, to: hex.count - 1, by: 2).compactMap {
        UInt8(String(decoding: hex[$0...$0 + 1], as: UTF8.self), radix: 16)
    }
    return (received, fields.first == "closed")
}
