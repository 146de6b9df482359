/// What the parsers' differential tests generate with: damage to a message, and the pieces it is fed in.
enum WireFuzzing {
    /// One byte inserted, removed or replaced, with one of `bytes`.
    static func damage(_ wire: inout [UInt8], bytes: [UInt8], _ random: inout SplitMix64) {
        let position = Int(random.next() % UInt64(wire.count + 1))
        let byte = bytes[Int(random.next() % UInt64(bytes.count))]
        switch random.next() % 3 {
        case 0: wire.insert(byte, at: position)
        case 1 where position < wire.count: wire.remove(at: position)
        default: if position < wire.count { wire[position] = byte } else { wire.append(byte) }
        }
    }

    /// Sizes of the reads `count` bytes arrive in: often small, sometimes all the rest.
    static func pieces(_ count: Int, _ random: inout SplitMix64) -> [Int] {
        var pieces: [Int] = []
        var left = count
        while left > 0 {
            let piece = random.next() % 3 == 0 ? left : min(left, 1 + Int(random.next() % 16))
            pieces.append(piece)
            left -= piece
        }
        return pieces
    }
}

/// A small deterministic generator, so that a failing case can be found again.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
