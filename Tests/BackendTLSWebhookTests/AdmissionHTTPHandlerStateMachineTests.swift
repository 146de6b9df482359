import BackendTLS
import Testing

@testable import BackendTLSWebhook

/// The request cycle without a channel: every transition of `AdmissionHTTPHandler.StateMachine`.
struct AdmissionHTTPHandlerStateMachineTests {
    typealias Machine = AdmissionHTTPHandler.StateMachine

    static let notFound = AdmissionService.Answer(status: 404, body: Array(#"{"code":404,"error":"no"}"#.utf8))

    static func machine(body: Int = 100, header: Int = 1000) -> Machine {
        Machine(maximumBodyBytes: body, maximumHeaderBytes: header)
    }

    @Test func startsIdle() {
        #expect(Self.machine().state == .idle)
    }

    @Test func headOnKnownRouteStartsReading() {
        var machine = Self.machine()
        let action = machine.head(route: .success(.validate), contentLength: 10, headerBytes: 50, keepAlive: true)
        #expect(action == .none)
        #expect(machine.state == .reading(endpoint: .validate, received: 0, keepAlive: true))
    }

    @Test(arguments: [404, 405])
    func routeFailureRefusesWithItsStatus(status: Int) {
        var machine = Self.machine()
        let answer = AdmissionService.Answer(status: status, body: Array(#"{"code":\#(status)}"#.utf8))
        let action = machine.head(route: .failure(answer), contentLength: nil, headerBytes: 50, keepAlive: true)
        #expect(action == .refuse(status: status, message: #"{"code":\#(status)}"#))
        #expect(machine.state == .discarding)
    }

    @Test func declaredContentLengthOverLimitRefuses413() {
        var machine = Self.machine(body: 100)
        let action = machine.head(route: .success(.validate), contentLength: 101, headerBytes: 50, keepAlive: true)
        guard case .refuse(let status, let message) = action else {
            Issue.record("expected a refusal, got \(action)")
            return
        }
        #expect(status == 413)
        #expect(message.contains("101"))
        #expect(machine.state == .discarding)
    }

    @Test func declaredContentLengthAtLimitIsAccepted() {
        var machine = Self.machine(body: 100)
        #expect(machine.head(route: .success(.mutate), contentLength: 100, headerBytes: 50, keepAlive: false) == .none)
        #expect(machine.state == .reading(endpoint: .mutate, received: 0, keepAlive: false))
    }

    @Test func headerBytesOverLimitRefuses431() {
        var machine = Self.machine(header: 1000)
        let action = machine.head(route: .success(.validate), contentLength: 1, headerBytes: 1001, keepAlive: true)
        guard case .refuse(let status, _) = action else {
            Issue.record("expected a refusal, got \(action)")
            return
        }
        #expect(status == 431)
        #expect(machine.state == .discarding)
    }

    @Test func headerLimitIsCheckedBeforeTheRoute() {
        var machine = Self.machine(header: 10)
        let action = machine.head(route: .failure(Self.notFound), contentLength: nil, headerBytes: 11, keepAlive: true)
        guard case .refuse(let status, _) = action else {
            Issue.record("expected a refusal, got \(action)")
            return
        }
        #expect(status == 431)
    }

    @Test func bodyChunksAccumulateUpToTheLimit() {
        var machine = Self.machine(body: 100)
        _ = machine.head(route: .success(.validate), contentLength: nil, headerBytes: 50, keepAlive: true)
        #expect(machine.body(count: 60) == .accumulate)
        #expect(machine.body(count: 40) == .accumulate)
        #expect(machine.state == .reading(endpoint: .validate, received: 100, keepAlive: true))
    }

    @Test func bodyGrowingPastTheLimitRefuses413() {
        var machine = Self.machine(body: 100)
        _ = machine.head(route: .success(.validate), contentLength: nil, headerBytes: 50, keepAlive: true)
        #expect(machine.body(count: 60) == .accumulate)
        let action = machine.body(count: 41)
        guard case .refuse(let status, _) = action else {
            Issue.record("expected a refusal, got \(action)")
            return
        }
        #expect(status == 413)
        #expect(machine.state == .discarding)
    }

    @Test(arguments: [true, false])
    func endProcessesWithKeepAlive(keepAlive: Bool) {
        var machine = Self.machine()
        _ = machine.head(route: .success(.mutate), contentLength: 3, headerBytes: 50, keepAlive: keepAlive)
        #expect(machine.body(count: 3) == .accumulate)
        #expect(machine.end() == .process(endpoint: .mutate, keepAlive: keepAlive))
        #expect(machine.state == .idle)
    }

    @Test func keepAliveConnectionServesASecondRequest() {
        var machine = Self.machine()
        _ = machine.head(route: .success(.validate), contentLength: 0, headerBytes: 50, keepAlive: true)
        #expect(machine.end() == .process(endpoint: .validate, keepAlive: true))
        #expect(machine.head(route: .success(.mutate), contentLength: 0, headerBytes: 50, keepAlive: true) == .none)
        #expect(machine.end() == .process(endpoint: .mutate, keepAlive: true))
    }

    @Test func timedOutWhileReadingRefuses408() {
        var machine = Self.machine()
        _ = machine.head(route: .success(.validate), contentLength: 10, headerBytes: 50, keepAlive: true)
        _ = machine.body(count: 5)
        let action = machine.timedOut()
        guard case .refuse(let status, _) = action else {
            Issue.record("expected a refusal, got \(action)")
            return
        }
        #expect(status == 408)
        #expect(machine.state == .discarding)
    }

    @Test func timedOutWhileIdleDoesNothing() {
        var machine = Self.machine()
        #expect(machine.timedOut() == .none)
        #expect(machine.state == .idle)
    }

    @Test func bodyAndEndWhileIdleDoNothing() {
        var machine = Self.machine()
        #expect(machine.body(count: 10) == .none)
        #expect(machine.end() == .none)
        #expect(machine.state == .idle)
    }

    @Test func eventsAfterARefusalAreIgnored() {
        var machine = Self.machine(body: 10)
        guard
            case .refuse = machine.head(route: .success(.validate), contentLength: 11, headerBytes: 5, keepAlive: true)
        else {
            Issue.record("expected a refusal")
            return
        }
        #expect(machine.body(count: 5) == .none)
        #expect(machine.body(count: 5) == .none)
        #expect(machine.timedOut() == .none)
        #expect(machine.end() == .none)
        #expect(machine.state == .discarding)
    }

    @Test func aNewHeadAfterARefusalIsNeverProcessed() {
        var machine = Self.machine()
        _ = machine.head(route: .failure(Self.notFound), contentLength: nil, headerBytes: 5, keepAlive: true)
        let action = machine.head(route: .success(.validate), contentLength: 0, headerBytes: 5, keepAlive: true)
        // Ignored: the refusal already closes the connection, and a second answer would be out of order.
        #expect(action == .none)
        #expect(machine.end() == .none)
        #expect(machine.state == .discarding)
    }

    @Test func aHeadWhileReadingRefuses400() {
        var machine = Self.machine()
        _ = machine.head(route: .success(.validate), contentLength: nil, headerBytes: 5, keepAlive: true)
        let action = machine.head(route: .success(.validate), contentLength: nil, headerBytes: 5, keepAlive: true)
        guard case .refuse(let status, _) = action else {
            Issue.record("expected a refusal, got \(action)")
            return
        }
        #expect(status == 400)
        #expect(machine.state == .discarding)
    }
}
