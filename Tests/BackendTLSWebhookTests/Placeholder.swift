import Testing
@Test func placeholderWebhook() { #expect(Bool(true)) }
