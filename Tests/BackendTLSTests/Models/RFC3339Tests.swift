import BackendTLS
import Foundation
import Testing

struct RFC3339Tests {
    /// Epoch seconds computed independently (`date -u -d TEXT +%s`).
    @Test(arguments: [
        ("2024-02-29T07:00:45Z", 1_709_190_045),
        ("2000-02-29T00:00:00Z", 951_782_400),
        ("1900-03-01T00:00:00Z", -2_203_891_200),
        ("2100-02-28T23:59:59Z", 4_107_542_399),
        ("2100-03-01T00:00:00Z", 4_107_542_400),
        ("1969-12-31T23:59:59Z", -1),
        ("2024-12-31T23:59:59Z", 1_735_689_599),
        ("2026-06-01T00:00:00Z", 1_780_272_000),
    ])
    func parsesAndFormatsBack(_ text: String, _ epoch: Int) throws {
        let date = try #require(RFC3339.parse(text))
        #expect(date == Date(timeIntervalSince1970: TimeInterval(epoch)))
        #expect(RFC3339.format(date) == text)
        #expect(RFC3339.parse(RFC3339.format(date)) == date)
    }

    @Test(arguments: [
        ("2024-02-29T12:30:45+05:30", "2024-02-29T07:00:45Z"),
        ("2024-03-01T01:00:00+02:00", "2024-02-29T23:00:00Z"),
        ("2023-12-31T23:30:00-01:00", "2024-01-01T00:30:00Z"),
        ("2024-05-01T10:00:00.123456789Z", "2024-05-01T10:00:00Z"),
        ("2024-05-01t10:00:00z", "2024-05-01T10:00:00Z"),
    ])
    func normalizesOffsetsAndFractionsToUTC(_ text: String, _ formatted: String) throws {
        let date = try #require(RFC3339.parse(text))
        #expect(RFC3339.format(date) == formatted)
    }

    @Test func keepsTheFraction() throws {
        let date = try #require(RFC3339.parse("2024-05-01T10:00:00.5Z"))
        #expect(date.timeIntervalSince1970 == 1_714_557_600.5)
    }

    @Test func everyDayOfALeapYearRoundTrips() throws {
        var date = try #require(RFC3339.parse("2024-01-01T00:00:00Z"))
        var seen: Set<String> = []
        for _ in 0..<366 {
            let text = RFC3339.format(date)
            #expect(RFC3339.parse(text) == date, "\(text)")
            seen.insert(String(text.prefix(10)))
            date.addTimeInterval(86_400)
        }
        #expect(seen.contains("2024-02-29"))
        #expect(seen.count == 366)
        #expect(RFC3339.format(date) == "2025-01-01T00:00:00Z")
    }

    @Test(arguments: [
        "",
        "2024-05-01",
        "2024-05-01T10:00:00",
        "2024-05-01T10:00:00+01",
        "2024-05-01T10:00:00+0100",
        "2024-05-01T10:00:00.Z",
        "2024-05-01T10:00:00Zjunk",
        "2024-5-01T10:00:00Z",
        "2024-00-10T10:00:00Z",
        "2024-05-32T10:00:00Z",
        "2024-05-01T24:00:00Z",
        "2024-05-01T10:60:00Z",
        // Bug: days that do not exist in their month are accepted and roll over into the next month
        // (2023-02-29 becomes 2023-03-01); Go's time.Parse, and so the API server, rejects them.
        "2023-02-29T00:00:00Z",
        "2100-02-29T00:00:00Z",
        "2024-02-30T00:00:00Z",
        "2024-04-31T00:00:00Z",
    ])
    func rejectsInvalidTimestamps(_ text: String) {
        #expect(RFC3339.parse(text) == nil)
    }

    @Test func formatDayIsTheDatePart() throws {
        let date = try #require(RFC3339.parse("2024-02-29T23:59:59Z"))
        #expect(RFC3339.formatDay(date) == "2024-02-29")
    }
}
