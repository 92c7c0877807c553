import Testing
import WaterHubCore
import WaterHubTestSupport

@Suite struct RouterTests {
    let router = Router(reference: Repository.reference, tenants: ["11002", "23088", "23096", "46030", "44088", "44021"])

    func event(nis: String? = nil, postalCode: String? = nil, municipality: String? = nil) -> Event {
        Event(source: "test", sourceEventID: "1", type: .disconnection, eventDate: .day("2026-11-16"), customerNumber: "C1",
              postalCode: postalCode, municipality: municipality, nisCode: nis)
    }

    @Test func referenceDataHasThe2025Map() {
        let reference = Repository.reference
        #expect(reference.flemishMunicipalities.count == 285)
        #expect(reference.municipalities.count == 565)
        #expect(reference.mergersByOldNISCode.count == 28)
        #expect(reference.nisCodesByPostalCode["1804"]?.sorted() == ["23088", "23096"])
    }

    @Test func aCurrentNISCodeRoutesToItsTown() {
        #expect(router.route(event(nis: "44021", postalCode: "9000")) == .tenant("44021"))
        #expect(router.route(event(nis: "44021")) == .tenant("44021"))
    }

    @Test(arguments: [("46003", "9120"), ("46013", "9150"), ("11056", "2070"), ("44040", "9090"), ("44043", "9820")])
    func aPre2025CodeOfAMergedTownLandsInTheNewTown(oldCode: String, postalCode: String) {
        let expected = Repository.reference.mergersByOldNISCode[oldCode]!.newNISCode
        #expect(router.route(event(nis: oldCode, postalCode: postalCode)) == .tenant(expected))
        #expect(router.route(event(nis: oldCode)) == .tenant(expected))
    }

    @Test func borsbeekMergedIntoAntwerpen() {
        #expect(router.route(event(nis: "11007", postalCode: "2150")) == .tenant("11002"))
    }

    @Test func aPostalCodeAloneRoutesWhenItIsUnambiguous() {
        #expect(router.route(event(postalCode: "2000")) == .tenant("11002"))
        #expect(router.route(event(postalCode: "9120")) == .tenant("46030"))
    }

    @Test func postalCode1804NeedsTheMunicipalityName() {
        #expect(router.route(event(postalCode: "1804", municipality: "Vilvoorde")) == .tenant("23088"))
        #expect(router.route(event(postalCode: "1804", municipality: "zemst")) == .tenant("23096"))
        #expect(router.route(event(postalCode: "1804", municipality: "Vilvorde")) == .tenant("23088"))
        #expect(router.route(event(nis: "23096", postalCode: "1804")) == .tenant("23096"))
        guard case .rejected(let problem) = router.route(event(postalCode: "1804")) else {
            Issue.record("1804 without a name must be rejected"); return
        }
        #expect(problem.code == .ambiguousPostalCode)
        guard case .rejected(let other) = router.route(event(postalCode: "1804", municipality: "Mechelen")) else {
            Issue.record("1804 with another town's name must be rejected"); return
        }
        #expect(other.code == .ambiguousPostalCode)
    }

    @Test func aTownThatIsNotATenantIsOutsideTheRegion() {
        #expect(router.route(event(postalCode: "2630")) == .outsideRegion("11001"))
        #expect(router.route(event(nis: "21004", postalCode: "1000")) == .outsideRegion("21004"))
    }

    @Test func unknownAndContradictoryLocationsAreRejectedWithTheReason() {
        let cases: [(Event, RowProblem.Code)] = [
            (event(postalCode: "9999"), .unknownPostalCode),
            (event(nis: "99999"), .unknownNISCode),
            (event(nis: "44021", postalCode: "2000"), .nisDoesNotMatchPostalCode),
            (event(nis: "46003", postalCode: "2000"), .nisDoesNotMatchPostalCode),
            (event(), .noLocation),
        ]
        for (input, code) in cases {
            guard case .rejected(let problem) = router.route(input) else {
                Issue.record("expected \(code) for \(String(describing: input.nisCode)) \(String(describing: input.postalCode))"); continue
            }
            #expect(problem.code == code)
        }
    }
}
