extension AdmissionHTTPHandler {
    /// The request cycle of one HTTP/1.1 connection or one HTTP/2 stream, free of channels so it is testable.
    ///
    /// Decides when to refuse early (wrong route, declared body too large, headers too large, body growing
    /// past the limit) and when a complete request is ready; after a refusal the rest of that request is
    /// discarded and the connection closes, because its remaining bytes cannot be trusted to frame.
    struct StateMachine {
        enum State: Equatable {
            case idle
            case reading(endpoint: AdmissionEvaluatorEndpoint, received: Int, keepAlive: Bool)
            /// A refusal was sent; drop everything until the connection closes.
            case discarding
        }

        enum Action: Equatable {
            case none
            /// Answer now and close the connection (the request was refused before its end).
            case refuse(status: Int, message: String)
            /// Keep accumulating this body chunk.
            case accumulate
            /// The request is complete: process the accumulated body.
            case process(endpoint: AdmissionEvaluatorEndpoint, keepAlive: Bool)
        }

        let maximumBodyBytes: Int
        let maximumHeaderBytes: Int
        private(set) var state: State = .idle

        init(maximumBodyBytes: Int, maximumHeaderBytes: Int) {
            self.maximumBodyBytes = maximumBodyBytes
            self.maximumHeaderBytes = maximumHeaderBytes
        }

        mutating func head(
            route: Result<AdmissionEvaluatorEndpoint, AdmissionService.Answer>,
            contentLength: Int?,
            headerBytes: Int,
            keepAlive: Bool
        ) -> Action {
            if case .discarding = state { return .none }
            guard case .idle = state else { return refuse(400, "a new request started before the previous one ended") }
            if headerBytes > maximumHeaderBytes {
                return refuse(431, "request headers are \(headerBytes) bytes; the limit is \(maximumHeaderBytes)")
            }
            switch route {
            case .failure(let answer):
                state = .discarding
                return .refuse(status: answer.status, message: String(decoding: answer.body, as: UTF8.self))
            case .success(let endpoint):
                if let contentLength, contentLength > maximumBodyBytes {
                    return refuse(413, "request body is \(contentLength) bytes; the limit is \(maximumBodyBytes)")
                }
                state = .reading(endpoint: endpoint, received: 0, keepAlive: keepAlive)
                return .none
            }
        }

        mutating func body(count: Int) -> Action {
            switch state {
            case .reading(let endpoint, let received, let keepAlive):
                let total = received + count
                guard total <= maximumBodyBytes else {
                    return refuse(413, "request body exceeds the limit of \(maximumBodyBytes) bytes")
                }
                state = .reading(endpoint: endpoint, received: total, keepAlive: keepAlive)
                return .accumulate
            case .idle, .discarding:
                return .none
            }
        }

        mutating func end() -> Action {
            switch state {
            case .reading(let endpoint, _, let keepAlive):
                state = .idle
                return .process(endpoint: endpoint, keepAlive: keepAlive)
            case .idle, .discarding:
                return .none
            }
        }

        /// The request took longer than the read timeout.
        mutating func timedOut() -> Action {
            guard case .reading = state else { return .none }
            return refuse(408, "request not received completely within the read timeout")
        }

        private mutating func refuse(_ status: Int, _ message: String) -> Action {
            state = .discarding
            return .refuse(status: status, message: message)
        }
    }
}
