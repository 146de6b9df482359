import Foundation

/// Work run on its own thread now, its value waited for later: a pipe drained while another is read, or
/// many requests in flight at once.
final class BackgroundValue<Value>: @unchecked Sendable {
    private let lock = NSCondition()
    private var value: Value?

    init(_ work: @escaping @Sendable () -> Value) {
        let thread = Thread { [self] in
            let produced = work()
            lock.lock()
            value = produced
            lock.signal()
            lock.unlock()
        }
        thread.start()
    }

    func wait() -> Value {
        lock.lock()
        defer { lock.unlock() }
        while value == nil { lock.wait() }
        return value!
    }
}
