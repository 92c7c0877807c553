import Hummingbird
import WaterHubCore
import WaterHubStorage

/// What a `needs=` filter on the case list asks for.
enum FollowUpNeed: String, CaseIterable {
    case outreach, aftercare, waterscan

    func holds(for followUp: FollowUp) -> Bool {
        switch self {
        case .outreach: followUp.needsOutreach
        case .aftercare: followUp.needsAftercare
        case .waterscan: followUp.suggestWaterscan
        }
    }
}

extension TenantRoutes {
    /// `GET /v1/tenants/{nis}/cases?state=&protected=&needs=&after=&limit=`: one entry per
    /// household with its current state, the date of each step and what the OCMW should do
    /// (outreach, aftercare, a waterscan), by the configured rules and the contacts recorded.
    @Sendable func cases(_ request: Request, context: HubRequestContext) async throws -> Response {
        let database = try await ownDatabase(context)
        let query = try StrictQuery(request, allowed: ["state", "protected", "needs", "after", "limit"])
        let after = try query.cursor(in: .cases)
        let limit = try query.limit(in: 1...1000) ?? 100
        let states = try query.codes("state", of: CaseState.self)
        let protected = try query.choice("protected", ProtectedStatus.allCases.map(\.rawValue)).flatMap(ProtectedStatus.init(rawValue:))
        let needs = try query.codes("needs", of: FollowUpNeed.self)
        let today = settings.today()

        // Without `needs`, one page is one read; with it, read on in batches until the page is
        // full or the list ends, and continue next time after the last household looked at.
        var page: [(StoredCase, FollowUp)] = []
        var position = after
        while page.count < limit {
            let want = needs == nil ? limit - page.count : TenantRoutes.batchSize
            let batch = try await database.cases(afterID: position, limit: want, states: states, protected: protected)
            for stored in batch {
                let followUp = settings.aftercare.followUp(for: stored.householdCase, contacts: stored.contacts, today: today)
                position = stored.id
                if needs?.allSatisfy({ $0.holds(for: followUp) }) ?? true {
                    page.append((stored, followUp))
                    if page.count == limit { break }
                }
            }
            if batch.count < want { break }
        }
        var json = JSONWriter()
        json.beginObject()
        json.key("cases")
        json.beginArray()
        for (stored, followUp) in page { CaseJSON.write(stored, followUp: followUp, today: today, to: &json) }
        json.endArray()
        json.member("next", Cursor.encode(position, in: .cases))
        json.endObject()
        context.audit.returned(rows: page.count)
        return .json(json)
    }
}

/// How a case looks in the API.
enum CaseJSON {
    static func write(_ stored: StoredCase, followUp: FollowUp, today: CalendarDate, to json: inout JSONWriter) {
        let householdCase = stored.householdCase
        json.beginObject()
        json.member("key", stored.key)
        json.member("state", householdCase.state.rawValue)
        json.member("state_label", householdCase.state.dutchLabel)
        json.key("step_dates")
        json.beginObject()
        for type in EventType.allCases {
            json.key(type.rawValue)
            json.value(householdCase.stepDates[type]?.iso)
        }
        json.endObject()
        json.member("opened_on", householdCase.openedOn.iso)
        json.member("last_event_on", householdCase.lastEventOn.iso)
        json.key("days_since_last_step"); json.value(householdCase.daysSinceLastStep(today: today))
        json.key("amount_due_cents"); json.value(householdCase.amountDueCents)
        json.member("protected_customer", householdCase.protectedCustomer.rawValue)
        json.key("event_count"); json.value(householdCase.eventCount)
        json.key("last_contact_on"); json.value(stored.contacts.lastContactOn?.iso)
        json.key("last_reached_on"); json.value(stored.contacts.lastReachedOn?.iso)
        json.key("needs_outreach"); json.value(followUp.needsOutreach)
        json.key("needs_aftercare"); json.value(followUp.needsAftercare)
        json.key("suggest_waterscan"); json.value(followUp.suggestWaterscan)
        json.endObject()
    }
}
