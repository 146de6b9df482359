#if FUZZING
    /// libFuzzer's per-input entry point.
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
        FuzzTarget.run(Array(UnsafeBufferPointer(start: data, count: size)))
        return 0
    }

    @_silgen_name("LLVMFuzzerRunDriver")
    func runFuzzerDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
        _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
    ) -> CInt

    /// SwiftPM links executables with `main` aliased to `<module>_main`; hand control to libFuzzer's driver
    /// from there (its own `main` is then not linked).
    @_cdecl("backendtls_fuzz_main")
    public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
        var count = argc
        var arguments = argv
        return runFuzzerDriver(&count, &arguments, fuzzOneInput)
    }
#else
    #if canImport(Glibc)
        import Glibc
    #elseif canImport(Darwin)
        import Darwin
    #endif

    /// Without libFuzzer: mutate the seed files given as arguments for a bounded number of iterations.
    @main
    struct RandomizedFuzz {
        static func main() {
            var arguments = CommandLine.arguments.dropFirst()
            var iterations = 20_000
            if let first = arguments.first, let count = Int(first) {
                iterations = count
                arguments = arguments.dropFirst()
            }
            let seeds = arguments.compactMap { path -> [UInt8]? in
                guard let file = fopen(path, "rb") else { return nil }
                defer { fclose(file) }
                var bytes: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 4096)
                while true {
                    let count = fread(&buffer, 1, buffer.count, file)
                    if count <= 0 { break }
                    bytes.append(contentsOf: buffer[0..<count])
                }
                return bytes
            }
            var generator = SystemRandomNumberGenerator()
            for iteration in 0..<iterations {
                var input = seeds.isEmpty ? [] : seeds[iteration % seeds.count]
                Mutator.mutate(&input, using: &generator)
                FuzzTarget.run(input)
            }
            print("fuzzed \(iterations) inputs from \(seeds.count) seeds without a crash")
        }
    }
#endif
