import Logging

/// What every listener needs, bundled once.
struct SidecarEnvironment: Sendable {
    let configuration: SidecarConfiguration
    let state: SidecarState
    let connector: UpstreamConnector
    let metrics: SidecarMetrics
    let logger: Logger
}
