import Foundation
import Hummingbird
import WaterHubCore
import WaterHubStorage

/// The weekly report the seeds describe, for all of a town's social workers: every step of that
/// ISO week (new LAC invitations, warnings, limitations announced and placed, removals,
/// disconnections, reconnections, …), by step, with protected customers marked.
struct WeeklyReport {
    struct Line {
        var event: StoredEvent
        var caseState: CaseState?
    }

    var town: Tenant
    var week: ISOWeek
    /// The lines of each step, in step order; steps without lines are kept (a zero is news too).
    var sections: [(type: EventType, lines: [Line])]

    init(town: Tenant, week: ISOWeek, lines: [(event: StoredEvent, caseState: CaseState?)]) {
        self.town = town
        self.week = week
        var byType: [EventType: [Line]] = [:]
        for line in lines { byType[line.event.event.type, default: []].append(Line(event: line.event, caseState: line.caseState)) }
        sections = EventType.allCases.map { ($0, byType[$0] ?? []) }
    }

    var lineCount: Int { sections.reduce(0) { $0 + $1.lines.count } }

    /// Households marked as protected customers on any line of the week.
    var protectedHouseholds: Int {
        Set(sections.flatMap(\.lines).filter { $0.event.event.protectedCustomer == .yes }.map(\.event.household)).count
    }

    static func address(_ event: Event) -> String? {
        let parts = [event.street, event.houseNumber, event.box.map { "bus \($0)" }].compactMap { $0 }.filter { !$0.isEmpty }
        return parts.isEmpty ? nil : parts.joined(separator: " ")
    }

    // MARK: JSON

    func json() -> JSONWriter {
        var json = JSONWriter()
        json.beginObject()
        json.key("town")
        json.beginObject()
        json.member("nis", town.nisCode)
        json.member("name", town.name)
        json.endObject()
        json.member("week", week.description)
        json.member("from", week.monday.iso)
        json.member("through", week.sunday.iso)
        json.key("protected_households"); json.value(protectedHouseholds)
        json.key("sections")
        json.beginArray()
        for (type, lines) in sections {
            json.beginObject()
            json.member("type", type.rawValue)
            json.member("label", type.dutchLabel)
            json.key("count"); json.value(lines.count)
            json.key("lines")
            json.beginArray()
            for line in lines {
                let event = line.event.event
                json.beginObject()
                json.member("household", line.event.household)
                json.member("event_date", event.eventDate.iso)
                json.member("customer_number", event.customerNumber)
                json.member("name", event.name)
                json.member("address", WeeklyReport.address(event))
                json.member("postal_code", event.postalCode)
                json.member("municipality", event.municipality)
                json.key("amount_due_cents"); json.value(event.amountDueCents)
                json.member("protected_customer", event.protectedCustomer.rawValue)
                json.key("case_state"); json.value(line.caseState?.rawValue)
                json.member("source", event.source)
                json.endObject()
            }
            json.endArray()
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return json
    }

    // MARK: CSV

    func csv() -> ByteBuffer {
        var csv = CSVWriter(buffer: ByteBuffer())
        csv.begin(header: ["week", "stap", "datum", "dossier", "klantnummer", "naam", "adres", "postcode", "gemeente",
                           "openstaand_bedrag_eur", "beschermde_klant", "huidige_toestand", "watermaatschappij"])
        for (type, lines) in sections {
            for line in lines {
                let event = line.event.event
                csv.field(week.description)
                csv.field(type.dutchLabel)
                csv.field(event.eventDate.iso)
                csv.field(line.event.household)
                csv.field(event.customerNumber)
                csv.field(event.name)
                csv.field(WeeklyReport.address(event))
                csv.field(event.postalCode)
                csv.field(event.municipality)
                csv.field(EuroAmount.text(event.amountDueCents))
                csv.field(WeeklyReport.dutch(event.protectedCustomer))
                csv.field(line.caseState?.dutchLabel)
                csv.field(event.source)
                csv.endRow()
            }
        }
        return csv.buffer
    }

    static func dutch(_ status: ProtectedStatus) -> String {
        switch status {
        case .yes: "ja"
        case .no: "nee"
        case .unknown: "onbekend"
        }
    }

    // MARK: HTML

    /// A printable page: inline CSS, no external resources, a print stylesheet, Dutch labels.
    func html() -> ByteBuffer {
        var page = """
            <!DOCTYPE html>
            <html lang="nl">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Weekrapport \(week) – \(HTML.escape(town.name))</title>
            <style>
            body { font-family: system-ui, "Segoe UI", Arial, sans-serif; margin: 2rem; color: #1a1a1a; font-size: 11pt; }
            h1 { font-size: 1.5rem; margin-bottom: 0.2rem; }
            h2 { font-size: 1.1rem; margin: 1.6rem 0 0.4rem; border-bottom: 2px solid #0b5394; padding-bottom: 0.2rem; }
            .period { color: #555; margin-top: 0; }
            table { border-collapse: collapse; width: 100%; margin-bottom: 0.5rem; }
            th, td { text-align: left; padding: 0.25rem 0.5rem; border-bottom: 1px solid #ddd; vertical-align: top; }
            th { background: #eef3f9; }
            td.amount, th.amount, td.count { text-align: right; font-variant-numeric: tabular-nums; }
            td.date, td.amount { white-space: nowrap; }
            tr.protected td { background: #fff6d6; }
            .mark { font-weight: bold; color: #8a5a00; }
            .none { color: #777; font-style: italic; }
            footer { margin-top: 2rem; color: #777; font-size: 9pt; }
            @media print {
              body { margin: 0; font-size: 9pt; }
              h2 { break-after: avoid; }
              tr { break-inside: avoid; }
              thead { display: table-header-group; }
              th { background: none; border-bottom: 1.5px solid #000; }
              tr.protected td { background: none; }
              footer { position: fixed; bottom: 0; }
            }
            </style>
            </head>
            <body>
            <h1>Weekrapport LAC-Water – \(HTML.escape(town.name)) (\(town.nisCode))</h1>
            <p class="period">Week \(week): \(HTML.dutchDate(week.monday)) tot en met \(HTML.dutchDate(week.sunday))</p>
            <table class="summary">
            <thead><tr><th>Stap</th><th class="amount">Aantal</th></tr></thead>
            <tbody>

            """
        for (type, lines) in sections {
            page += "<tr><td>\(HTML.escape(type.dutchLabel))</td><td class=\"count\">\(lines.count)</td></tr>\n"
        }
        page += "<tr><td>Beschermde klanten (gezinnen)</td><td class=\"count\">\(protectedHouseholds)</td></tr>\n</tbody>\n</table>\n"
        for (type, lines) in sections {
            page += "<h2>\(HTML.escape(type.dutchLabel)) (\(lines.count))</h2>\n"
            guard !lines.isEmpty else {
                page += "<p class=\"none\">Geen deze week.</p>\n"
                continue
            }
            page += """
                <table>
                <thead><tr><th>Datum</th><th>Naam</th><th>Adres</th><th>Klantnummer</th><th class="amount">Openstaand</th><th>Beschermde klant</th><th>Huidige toestand</th><th>Dossier</th></tr></thead>
                <tbody>

                """
            for line in lines {
                let event = line.event.event
                let isProtected = event.protectedCustomer == .yes
                let place = [WeeklyReport.address(event), [event.postalCode, event.municipality].compactMap { $0 }.joined(separator: " ")]
                    .compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ", ")
                page += "<tr\(isProtected ? " class=\"protected\"" : "")>"
                page += "<td class=\"date\">\(HTML.dutchDate(event.eventDate))</td>"
                page += "<td>\(HTML.escape(event.name ?? "–"))</td>"
                page += "<td>\(HTML.escape(place.isEmpty ? "–" : place))</td>"
                page += "<td>\(HTML.escape(event.customerNumber ?? event.connectionID ?? "–"))</td>"
                page += "<td class=\"amount\">\(EuroAmount.display(event.amountDueCents).map { "€ \($0)" } ?? "–")</td>"
                page += "<td>\(isProtected ? "<span class=\"mark\">★ beschermde klant</span>" : WeeklyReport.dutch(event.protectedCustomer))</td>"
                page += "<td>\(HTML.escape(line.caseState?.dutchLabel ?? "–"))</td>"
                page += "<td><code>\(HTML.escape(line.event.household))</code></td>"
                page += "</tr>\n"
            }
            page += "</tbody>\n</table>\n"
        }
        page += """
            <footer>WaterHub – vertrouwelijk: persoonsgegevens voor de sociale dienst van \(HTML.escape(town.name)). Niet doorsturen.</footer>
            </body>
            </html>

            """
        return ByteBuffer(string: page)
    }
}

/// Escaping and Dutch dates for the HTML pages.
enum HTML {
    static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }

    /// `16 november 2026`.
    static func dutchDate(_ date: CalendarDate) -> String { "\(date.day) \(CalendarDate.dutchMonthNames[date.month - 1]) \(date.year)" }
}

extension TenantRoutes {
    /// `GET /v1/tenants/{nis}/reports/weekly/{yyyy}-W{ww}`: the weekly report as printable HTML
    /// (`Accept: text/html`), CSV (`format=csv` or `Accept: text/csv`) or JSON.
    @Sendable func weeklyReport(_ request: Request, context: HubRequestContext) async throws -> Response {
        let database = try await ownDatabase(context)
        let query = try StrictQuery(request, allowed: ["format"])
        guard let week = ISOWeek(try context.parameters.require("week")) else {
            throw APIError.badParameter("week", "an ISO week as YYYY-Www that exists, such as 2026-W47")
        }
        let representation = try Representation.negotiate(query, request, offered: [.json, .csv, .html])
        let lines = try await database.currentEvents(datedFrom: week.monday, through: week.sunday)
        let report = WeeklyReport(town: database.tenant, week: week, lines: lines)
        context.audit.returned(rows: report.lineCount)
        switch representation {
        case .html:
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: report.html()))
        case .csv:
            return .csv(report.csv(), filename: "weekrapport-\(database.tenant.nisCode)-\(week).csv")
        default:
            return .json(report.json())
        }
    }
}
