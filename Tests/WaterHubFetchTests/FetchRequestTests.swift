import Testing
import WaterHubFetch

/// What `FetchRequest` and `FetchError` show of a request: never its secrets.
@Suite struct FetchRequestTests {
    @Test(arguments: [
        ("sftp://aquaflan:s3cret@sftp.example.invalid/feeds/week.csv", "sftp://sftp.example.invalid/feeds/week.csv"),
        ("https://token@feeds.example.invalid/a@b.csv", "https://feeds.example.invalid/a@b.csv"),
        ("https://feeds.example.invalid/week.csv", "https://feeds.example.invalid/week.csv"),
        ("file:///srv/drop/aquaflan-1.csv", "file:///srv/drop/aquaflan-1.csv"),
    ])
    func redactedURLDropsUserInformation(url: String, redacted: String) {
        #expect(FetchRequest(url: url, stagingPath: "/tmp/x").redactedURL == redacted)
    }

    @Test func descriptionCarriesCurlsCode() {
        #expect(FetchError(kind: .temporary, curlCode: 28, message: "the transfer stalled").description == "the transfer stalled (curl error 28)")
        #expect(FetchError(kind: .permanent, curlCode: 0, httpStatus: 404, message: "HTTP 404").description == "HTTP 404")
    }
}
