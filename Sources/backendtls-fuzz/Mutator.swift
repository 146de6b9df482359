/// Byte-level mutations in the spirit of libFuzzer's: flips, inserts, deletions, splices of interesting tokens.
enum Mutator {
    static let tokens: [[UInt8]] = [
        "{", "}", "[", "]", "\"", ":", ",", "\\u", "\\ud800", "null", "-----BEGIN CERTIFICATE-----\n",
        "-----END CERTIFICATE-----\n", "-----BEGIN PRIVATE KEY-----\n", "\n---\n", "kind: List\nitems:\n",
        "\"hostname\":\"", "1e999", "&a", "*a", "!!binary", "\u{0}", "\n", "    ",
    ].map { Array($0.utf8) }

    static func mutate(_ input: inout [UInt8], using generator: inout some RandomNumberGenerator) {
        let rounds = Int.random(in: 1...8, using: &generator)
        for _ in 0..<rounds {
            switch Int.random(in: 0..<5, using: &generator) {
            case 0 where !input.isEmpty:
                let index = Int.random(in: 0..<input.count, using: &generator)
                input[index] ^= UInt8(1 << Int.random(in: 0..<8, using: &generator))
            case 1:
                let index = Int.random(in: 0...input.count, using: &generator)
                input.insert(UInt8.random(in: 0...255, using: &generator), at: index)
            case 2 where !input.isEmpty:
                let start = Int.random(in: 0..<input.count, using: &generator)
                let end = min(input.count, start + Int.random(in: 1...16, using: &generator))
                input.removeSubrange(start..<end)
            case 3:
                let index = Int.random(in: 0...input.count, using: &generator)
                input.insert(contentsOf: tokens.randomElement(using: &generator)!, at: index)
            default:
                if input.count > 1 {
                    let start = Int.random(in: 0..<input.count, using: &generator)
                    let length = min(input.count - start, Int.random(in: 1...32, using: &generator))
                    let index = Int.random(in: 0...input.count, using: &generator)
                    input.insert(contentsOf: Array(input[start..<start + length]), at: index)
                }
            }
        }
    }
}
