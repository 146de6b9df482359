/// Which Gateway API CRD bundle the cluster runs, for the one schema difference that changes verdicts.
///
/// v1.5.0 turned `wellKnownCACertificates` from `enum: [System]` into a pattern that also allows
/// `<domain>/<name>` (spec §6), so the same object can be valid on one cluster and invalid on another.
public enum GatewayAPIRelease: String, Sendable, Hashable, CaseIterable, Codable {
    /// v1.4.x: `wellKnownCACertificates` is `enum: [System]`.
    case v1_4 = "v1.4"
    /// v1.5.0 and later (HEAD): the P-WELLKNOWN pattern with length 1..253.
    case v1_5 = "v1.5"

    public static let latest: GatewayAPIRelease = .v1_5
}
