extension RuleSet {
    /// The rules this set runs for a BackendTLSPolicy, in the order their findings are reported.
    public func policyRules(enforcement: Enforcement) -> AllOf<BackendTLSPolicy> {
        AllOf {
            UpstreamSchemaRule()
            if self == .strict {
                if enforcement == .warn {
                    WarnOnly { Self.strictRules }
                } else {
                    Self.strictRules
                }
            }
        }
    }

    static let strictRules = AllOf<BackendTLSPolicy> {
        HostnameRule()
        SubjectAltNamesRule()
        TargetRefsRule()
        CACertificateRefsRule()
        WellKnownCACertificatesRule()
        OptionsRule()
        ConflictRule()
    }
}

extension RuleSet {
    /// The guard for ConfigMap and Secret writes: a strict check (the CRD never looks at these objects),
    /// downgraded to warnings under `enforcement: warn`.
    public func caObjectRules(enforcement: Enforcement) -> AllOf<CAObjectGuard.Subject> {
        AllOf {
            if self == .strict {
                if enforcement == .warn {
                    WarnOnly { CAObjectGuard() }
                } else {
                    CAObjectGuard()
                }
            }
        }
    }
}
