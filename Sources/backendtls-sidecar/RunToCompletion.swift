import Dispatch
import Synchronization

/// Runs `operation` on the concurrency runtime's threads while the calling thread waits for its end, and rethrows
/// what it threw.
///
/// Why the sidecar's main thread waits instead of being an async main: an async main hands the main thread to
/// Dispatch, which ends it with `pthread_exit`, and that unwinds the thread's stack through the binary's unwind
/// tables. The pages of those tables it reads stayed mapped in every idle sidecar (issue 5's memory goal). Nothing in
/// the sidecar runs on the main actor or the main queue, which this thread no longer serves.
func runToCompletion(_ operation: @escaping @Sendable () async throws -> Void) throws {
    let failure = Failure()
    let finished = DispatchSemaphore(value: 0)
    Task {
        do {
            try await operation()
        } catch {
            failure.error.withLock { $0 = error }
        }
        finished.signal()
    }
    finished.wait()
    if let error = failure.error.withLock({ $0 }) { throw error }
}

private final class Failure: Sendable {
    let error = Mutex<(any Error)?>(nil)
}
