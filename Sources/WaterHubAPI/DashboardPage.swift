import WaterHubCore
import WaterHubDisclosure
import WaterHubStatistics

/// The regional cell's dashboard as one HTML document: Dutch labels, inline SVG charts, one style
/// sheet (allowed by its hash), no script. Every withheld figure shows the same mark, "x".
struct DashboardPage {
    let statistics: PublishedStatistics
    let week: ISOWeek
    let table: PublishedTable

    /// The mark of every withheld figure.
    static let withheld = "x"
    /// How many weeks the trend charts show.
    static let trendWeeks = 26

    func html() -> String {
        var page = DashboardPage.head(title: "Statistieken regionale cel – WaterHub")
        page += """
            <header>
            <div><h1>Statistieken van de regionale cel</h1>
            <p class="meta">\(statistics.towns.count) gemeenten · gegevens tot en met \(statistics.dataThrough.map { HTML.dutchDate($0) } ?? "–") · drempel k = \(statistics.threshold), beschermingsmarge p = \(statistics.protectionRange) · <span class="x">x</span> = niet gepubliceerd</p></div>
            <form method="post" action="/dashboard/logout" class="noprint"><button type="submit">Afmelden</button></form>
            </header>
            <nav class="noprint"><a href="#verloop">Weekverloop</a> <a href="#week">Week per gemeente</a> <a href="#maanden">Maanden</a> <a href="#doorlooptijden">Doorlooptijden</a> <a href="#beschermd">Beschermde klanten</a> <a href="#bereik">Bereik</a> <a href="#aanlevering">Aanlevering</a> <a href="#werkwijze">Werkwijze</a></nav>
            <main>

            """
        page += trendSection()
        page += weekSection()
        page += monthSection()
        page += durationSection()
        page += protectedSection()
        page += outreachSection()
        page += feedSection()
        page += DashboardPage.methodSection(threshold: statistics.threshold, range: statistics.protectionRange)
        page += "</main>\n<footer>WaterHub · enkel gepubliceerde cijfers, zonder persoonsgegevens.</footer>\n</body>\n</html>\n"
        return page
    }

    // MARK: sections

    func trendSection() -> String {
        var section = "<section id=\"verloop\">\n<h2>Weekverloop per stap in de regio</h2>\n"
        guard let last = statistics.weeks.last?.week else {
            return section + "<p>Nog geen gegevens.</p>\n</section>\n"
        }
        // The last weeks up to the latest one with steps, but not before the first one with steps.
        let first = statistics.weeks.first!.week
        let weeks = (0..<DashboardPage.trendWeeks).reversed().map { last.monday.adding(days: -7 * $0).isoWeek }.filter { $0 >= first }
        let byWeek = Dictionary(uniqueKeysWithValues: statistics.weeks.map { ($0.week, $0.table) })
        section += "<p>Aantal huishoudens per week met die stap, alle gemeenten samen, van \(weeks.first!) tot \(last) (hoogstens \(DashboardPage.trendWeeks) weken).</p>\n<div class=\"charts\">\n"
        for (column, type) in PublishedStatistics.eventTypes.enumerated() {
            let values: [Int?] = weeks.map { week in
                guard let table = byWeek[week] else { return 0 }
                return table.columnTotals[column].publishedValue
            }
            section += "<figure>\n<figcaption>\(HTML.escape(type.dutchLabel))</figcaption>\n"
            section += SVGChart.weeklyBars(values: values, firstWeek: weeks.first!, lastWeek: last, title: type.dutchLabel)
            section += "</figure>\n"
        }
        return section + "</div>\n</section>\n"
    }

    func weekSection() -> String {
        var section = "<section id=\"week\">\n<h2>Week \(week.description) per gemeente</h2>\n"
        section += "<form method=\"get\" action=\"/dashboard#week\" class=\"noprint\"><label for=\"week-select\">Week</label> <select id=\"week-select\" name=\"week\">"
        var choices = statistics.weeks.map(\.week)
        if !choices.contains(week) { choices.append(week) }
        for choice in choices.sorted().reversed() {
            section += "<option value=\"\(choice)\"\(choice == week ? " selected" : "")>\(choice) (\(HTML.dutchDate(choice.monday)))</option>"
        }
        section += "</select> <button type=\"submit\">Toon</button></form>\n"
        section += "<p>Huishoudens met die stap van \(HTML.dutchDate(week.monday)) tot \(HTML.dutchDate(week.sunday)). Een huishouden met twee soorten stappen telt in het gemeentetotaal twee keer.</p>\n"
        section += DashboardPage.countsTableStart(id: "week-table", firstColumn: "Gemeente")
        for (row, town) in statistics.towns.enumerated() {
            section += "<tr><th scope=\"row\">\(HTML.escape(town.name))</th>"
            for entry in table.cells[row] + [table.rowTotals[row]] { section += DashboardPage.cell(entry) }
            section += "</tr>\n"
        }
        section += "</tbody>\n<tfoot><tr><th scope=\"row\">Regio</th>"
        for entry in table.columnTotals + [table.grandTotal] { section += DashboardPage.cell(entry) }
        section += "</tr></tfoot>\n</table></div>\n"
        return section + "</section>\n"
    }

    func monthSection() -> String {
        var section = "<section id=\"maanden\">\n<h2>Per maand in de regio</h2>\n"
        section += "<p>Een maand telt de ISO-weken waarvan de donderdag in die maand valt (4 of 5 hele weken), zodat een maand precies de som van haar weken is.</p>\n"
        section += DashboardPage.countsTableStart(id: "month-table", firstColumn: "Maand")
        for figures in statistics.months.reversed() {
            let weeks = figures.month.weeks
            section += "<tr><th scope=\"row\">\(figures.month.dutchLabel) <small>(\(weeks.first.map { "\($0)" } ?? "")–\(weeks.last.map { "W\($0.week < 10 ? "0" : "")\($0.week)" } ?? ""))</small></th>"
            for entry in figures.list.entries + [figures.list.total] { section += DashboardPage.cell(entry) }
            section += "</tr>\n"
        }
        if statistics.months.isEmpty { section += "<tr><td colspan=\"\(PublishedStatistics.columnCodes.count + 1)\">Nog geen gegevens.</td></tr>\n" }
        return section + "</tbody>\n</table></div>\n</section>\n"
    }

    func durationSection() -> String {
        var section = "<section id=\"doorlooptijden\">\n<h2>Doorlooptijden</h2>\n"
        section += "<p>Dagen tussen twee stappen, per huishouden: de balk loopt van het eerste tot het derde kwartiel, de streep is de mediaan. Een gemeente staat er alleen bij met minstens \(statistics.threshold) huishoudens.</p>\n<div class=\"charts wide\">\n"
        let names = Dictionary(uniqueKeysWithValues: statistics.towns.map { ($0.nisCode, $0.name) })
        for measure in DurationMeasure.allCases {
            let figures = statistics.durations.filter { $0.measure == measure }
            let rows: [SVGChart.BoxRow] = figures.compactMap { figure in
                switch figure.scope {
                case .region:
                    let households = figure.households.map { " (\($0) huishoudens)" } ?? ""
                    return SVGChart.BoxRow(label: "Regio" + households, quartiles: figure.quartiles.publishedValue, emphasised: true)
                case .town(let nis):
                    // Towns below k are left out of the chart rather than drawn as empty rows.
                    guard let quartiles = figure.quartiles.publishedValue else { return nil }
                    return SVGChart.BoxRow(label: names[nis] ?? nis, quartiles: quartiles, emphasised: false)
                }
            }
            section += "<figure>\n<figcaption>\(HTML.escape(measure.dutchLabel))</figcaption>\n"
            section += SVGChart.boxPlot(rows: rows, title: measure.dutchLabel)
            section += "</figure>\n"
        }
        return section + "</div>\n</section>\n"
    }

    func protectedSection() -> String {
        var section = "<section id=\"beschermd\">\n<h2>Beschermde klanten per stap</h2>\n"
        section += "<p>Aandeel beschermde klanten (sociaal tarief) onder de huishoudens die nu in die stap staan en van wie het statuut gekend is, alle gemeenten samen.</p>\n"
        let rows = statistics.protectedShares.map { SVGChart.BarRow(label: $0.state.dutchLabel, value: $0.percent.publishedValue, detail: nil) }
        section += SVGChart.horizontalBars(rows: rows, maximum: 100, unit: "%", title: "Aandeel beschermde klanten per stap")
        return section + "</section>\n"
    }

    func outreachSection() -> String {
        var section = "<section id=\"bereik\">\n<h2>Bereik per contactmethode</h2>\n"
        section += "<p>Deel van de contactpogingen dat het huishouden bereikte, over alle gemeenten, uit de contacten die de OCMW's registreren.</p>\n"
        let rows = statistics.outreach.map { figure in
            SVGChart.BarRow(label: figure.method.dutchLabel, value: figure.counts.publishedValue?.reachedPercent,
                            detail: figure.counts.publishedValue.map { "\($0.contacts) pogingen, \($0.households) huishoudens" })
        }
        section += SVGChart.horizontalBars(rows: rows, maximum: 100, unit: "%", title: "Bereik per contactmethode")
        return section + "</section>\n"
    }

    func feedSection() -> String {
        var section = "<section id=\"aanlevering\">\n<h2>Aanlevering per watermaatschappij</h2>\n"
        section += "<p>Rijen per week van aankomst (afgerond op tientallen) over de laatste \(StatisticsBuilder.feedWeeks) weken, en het deel van de rijen dat in quarantaine ging.</p>\n"
        section += "<div class=\"scroll\"><table id=\"feed-table\">\n<thead><tr><th scope=\"col\">Watermaatschappij</th><th scope=\"col\">Laatste levering</th><th scope=\"col\">Rijen per week</th><th scope=\"col\">In quarantaine</th></tr></thead>\n<tbody>\n"
        for feed in statistics.feeds {
            let weeks = feed.roundedRowsPerWeek.keys.sorted()
            section += "<tr><th scope=\"row\">\(HTML.escape(feed.name))</th><td>\(feed.lastDelivery.map { HTML.dutchDate($0) } ?? "nog geen")</td>"
            section += "<td>\(SVGChart.sparkline(values: weeks.map { feed.roundedRowsPerWeek[$0]! }, title: "Rijen per week van \(feed.name)"))</td>"
            section += "<td class=\"num\">\(feed.quarantinedPercent.map { "\($0) %" } ?? "–")</td></tr>\n"
        }
        return section + "</tbody>\n</table></div>\n</section>\n"
    }

    static func methodSection(threshold: Int, range: Int) -> String {
        """
        <section id="werkwijze">
        <h2>Werkwijze</h2>
        <p>Deze cijfers komen uit een aparte statistiekenbank die WaterHub na elke levering en elke dag opnieuw berekent uit de bestanden van de gemeenten. Die bank bevat geen namen, adressen, klantnummers of sleutels van huishoudens, alleen de cijfers op deze pagina.</p>
        <ul>
        <li><strong>Wat telt.</strong> Een cel telt huishoudens: hoeveel huishoudens van een gemeente in die week minstens één keer die stap kregen (de laatste versie van elke melding). Een gemeentetotaal telt de cellen op.</li>
        <li><strong>Kleine aantallen.</strong> Een aantal van 1 tot \(threshold - 1) wordt niet getoond (drempel k = \(threshold)), en ook geen totaal, mediaan of aandeel dat op minder dan \(threshold) huishoudens steunt. Nul wordt wel getoond: het zegt over niemand iets.</li>
        <li><strong>Niet terug te rekenen.</strong> Omdat de totalen er staan, worden waar nodig nog andere cijfers weggelaten, zodat niemand een verborgen cijfer kan terugrekenen door op te tellen en af te trekken. WaterHub rekent voor elk verborgen cijfer exact uit hoe nauw het in te sluiten is, en publiceert pas als dat nooit nauwer is dan \(range) (de beschermingsmarge).</li>
        <li><strong>Eén teken.</strong> Elk verborgen cijfer staat er als <span class="x">x</span>, of het nu zelf klein is of een ander beschermt: zo valt niet af te leiden welke cijfers de kleine zijn.</li>
        <li><strong>Weken en maanden samen.</strong> Een maand is de som van haar ISO-weken. De weektabellen van een maand en het maandoverzicht worden samen beschermd, zodat een maandcijfer een verborgen weekcijfer niet verraadt. Er is geen tabel per gemeente per maand: die zou samen met de weektabellen verborgen cijfers prijsgeven.</li>
        <li><strong>Doorlooptijden en aandelen.</strong> Kwartielen en mediaan van een doorlooptijd worden getoond voor de regio, en voor een gemeente alleen met minstens \(threshold) huishoudens; het aantal huishoudens staat er enkel voor de regio bij. Aandelen worden afgerond op hele procenten.</li>
        <li><strong>Aanlevering.</strong> Aantallen rijen per watermaatschappij zijn afgerond op tientallen: ze tonen of een levering binnenkomt, niet hoeveel huishoudens een gemeente telt.</li>
        <li><strong>Altijd hetzelfde.</strong> Dezelfde gegevens geven altijd dezelfde cijfers.</li>
        </ul>
        </section>

        """
    }

    // MARK: pieces

    /// A table of counts up to its body: the first column's heading, one per event type, the total.
    static func countsTableStart(id: String, firstColumn: String) -> String {
        var html = "<div class=\"scroll\"><table class=\"counts\" id=\"\(id)\">\n<thead><tr><th scope=\"col\">\(firstColumn)</th>"
        for type in PublishedStatistics.eventTypes { html += "<th scope=\"col\">\(HTML.escape(type.dutchLabel))</th>" }
        return html + "<th scope=\"col\">Totaal</th></tr></thead>\n<tbody>\n"
    }

    static func cell(_ entry: Disclosed<Int>) -> String {
        guard let value = entry.publishedValue else {
            return "<td class=\"num x\" title=\"niet gepubliceerd\">\(withheld)</td>"
        }
        return "<td class=\"num\">\(value)</td>"
    }

    static func head(title: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="nl">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <link rel="icon" href="data:,">
        <title>\(HTML.escape(title))</title>
        <style>\(styleSheet)</style>
        </head>
        <body>

        """
    }

    static func loginPage(message: String?) -> String {
        var page = head(title: "Aanmelden – statistieken regionale cel")
        page += """
            <main class="login">
            <h1>Statistieken van de regionale cel</h1>
            <p>Meld je aan met de statistieksleutel die de beheerder van WaterHub je gaf (<code>waterhub token issue --scope stats</code>). De sleutel blijft op de server: je browser krijgt enkel een sessie van acht uur.</p>

            """
        if let message { page += "<p class=\"error\" role=\"alert\">\(HTML.escape(message))</p>\n" }
        page += """
            <form method="post" action="/dashboard/login">
            <label for="token">Statistieksleutel</label>
            <input id="token" name="token" type="password" autocomplete="off" required>
            <button type="submit">Aanmelden</button>
            </form>
            </main>
            </body>
            </html>

            """
        return page
    }

    /// The one style sheet; the Content-Security-Policy allows exactly this text by its hash.
    static let styleSheet = """
        :root{--ink:#1d2733;--muted:#5b6673;--line:#d5dbe1;--accent:#1f5f8b;--accent2:#7fb0d3;--hatch:#e4e7eb}
        *{box-sizing:border-box}
        body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:#f6f8fa}
        header{display:flex;justify-content:space-between;align-items:flex-start;gap:1rem;padding:1rem 1.5rem;background:#fff;border-bottom:1px solid var(--line)}
        h1{font-size:1.4rem;margin:0 0 .25rem}
        h2{font-size:1.15rem;margin:0 0 .5rem}
        .meta{margin:0;color:var(--muted);font-size:.9rem}
        nav{padding:.5rem 1.5rem;background:#fff;border-bottom:1px solid var(--line);font-size:.9rem}
        nav a{margin-right:1rem;color:var(--accent)}
        main{max-width:1200px;margin:0 auto;padding:1rem 1.5rem}
        section{background:#fff;border:1px solid var(--line);border-radius:6px;padding:1rem 1.25rem;margin:0 0 1rem}
        section p{margin:.25rem 0 .75rem;color:var(--muted)}
        .charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:1rem}
        .charts.wide{grid-template-columns:repeat(auto-fill,minmax(520px,1fr))}
        figure{margin:0}
        figcaption{font-weight:600;font-size:.9rem;margin-bottom:.25rem}
        svg{display:block;max-width:100%;height:auto}
        svg text{font-family:inherit;fill:var(--ink)}
        svg .bar{fill:var(--accent)}
        svg .box{fill:var(--accent2);stroke:var(--accent)}
        svg .box.region{fill:var(--accent)}
        svg .median{stroke:var(--ink);stroke-width:2}
        svg .axis{stroke:var(--line)}
        svg .xmark{fill:var(--muted);font-size:10px}
        svg .small{font-size:10px;fill:var(--muted)}
        svg .spark{fill:none;stroke:var(--accent);stroke-width:1.5}
        .scroll{overflow-x:auto}
        table{border-collapse:collapse;width:100%;font-size:.85rem}
        th,td{border-bottom:1px solid var(--line);padding:.3rem .45rem;text-align:left;vertical-align:bottom}
        thead th{font-weight:600;font-size:.72rem;hyphens:auto;overflow-wrap:anywhere}
        table.counts{table-layout:fixed;min-width:760px}
        table.counts th:first-child{width:9.5rem}
        td.num{text-align:right;font-variant-numeric:tabular-nums}
        tfoot th,tfoot td{font-weight:600;border-top:2px solid var(--ink)}
        .x{color:var(--muted);background:var(--hatch);font-weight:600}
        span.x{padding:0 .3rem;border-radius:3px}
        form{display:inline}
        button,select,input{font:inherit;padding:.3rem .6rem}
        .login{max-width:32rem;margin:3rem auto}
        .login form{display:flex;flex-direction:column;gap:.5rem}
        .error{color:#a32020;font-weight:600}
        footer{max-width:1200px;margin:0 auto;padding:0 1.5rem 2rem;color:var(--muted);font-size:.8rem}
        @media print{
        body{background:#fff;font-size:10pt}
        .noprint{display:none}
        header{border:0;padding:0 0 .5rem}
        main{max-width:none;padding:0}
        section{border:0;border-top:1px solid #999;border-radius:0;padding:.5rem 0;break-inside:avoid}
        .charts,.charts.wide{grid-template-columns:repeat(3,1fr)}
        .charts.wide{grid-template-columns:repeat(2,1fr)}
        .scroll{overflow:visible}
        a{color:inherit;text-decoration:none}
        .x{background:none;border:1px solid #999}
        }
        """
}

/// Small server-side SVG charts: fixed sizes that scale with the page, no script, text labels.
enum SVGChart {
    /// The opening of a chart of that size: its accessible label, and its title (the label unless given).
    static func open(width: Int, height: Int, label: String, title: String? = nil) -> String {
        "<svg viewBox=\"0 0 \(width) \(height)\" width=\"\(width)\" height=\"\(height)\" role=\"img\" aria-label=\"\(HTML.escape(label))\"><title>\(HTML.escape(title ?? label))</title>"
    }

    /// Vertical bars, one per week; a withheld week is an "x" on the axis, never a bar.
    static func weeklyBars(values: [Int?], firstWeek: ISOWeek, lastWeek: ISOWeek, title: String) -> String {
        let width = 260, height = 110, left = 26, bottom = 18, top = 8
        let plotWidth = width - left - 4, plotHeight = height - bottom - top
        let maximum = max(5, values.compactMap { $0 }.max() ?? 0)
        let step = Double(plotWidth) / Double(max(values.count, 1))
        var svg = open(width: width, height: height, label: title)
        svg += "<line class=\"axis\" x1=\"\(left)\" y1=\"\(top + plotHeight)\" x2=\"\(width - 4)\" y2=\"\(top + plotHeight)\"/>"
        svg += "<text class=\"small\" x=\"\(left - 4)\" y=\"\(top + 8)\" text-anchor=\"end\">\(maximum)</text>"
        svg += "<text class=\"small\" x=\"\(left - 4)\" y=\"\(top + plotHeight)\" text-anchor=\"end\">0</text>"
        for (index, value) in values.enumerated() {
            let x = Double(left) + Double(index) * step
            if let value {
                guard value > 0 else { continue }
                let barHeight = Double(plotHeight) * Double(value) / Double(maximum)
                svg += "<rect class=\"bar\" x=\"\(format(x + 1))\" y=\"\(format(Double(top + plotHeight) - barHeight))\" width=\"\(format(max(step - 2, 1)))\" height=\"\(format(barHeight))\"><title>\(value)</title></rect>"
            } else {
                svg += "<text class=\"xmark\" x=\"\(format(x + step / 2))\" y=\"\(top + plotHeight - 2)\" text-anchor=\"middle\">x</text>"
            }
        }
        svg += "<text class=\"small\" x=\"\(left)\" y=\"\(height - 4)\">\(firstWeek)</text>"
        svg += "<text class=\"small\" x=\"\(width - 4)\" y=\"\(height - 4)\" text-anchor=\"end\">\(lastWeek)</text>"
        return svg + "</svg>\n"
    }

    struct BoxRow {
        var label: String
        var quartiles: Quartiles?
        var emphasised: Bool
    }

    /// One row per scope: a box from the first to the third quartile with the median marked; a
    /// withheld row says "x".
    static func boxPlot(rows: [BoxRow], title: String) -> String {
        let width = 520, rowHeight = 22, left = 190, right = 16, top = 6, axis = 22
        let height = top + rows.count * rowHeight + axis
        let maximum = max(10, (rows.compactMap { $0.quartiles?.third }.max() ?? 0) / 100 + 1)
        let plotWidth = Double(width - left - right)
        func x(_ centidays: Int) -> Double { Double(left) + plotWidth * Double(centidays) / Double(maximum * 100) }
        var svg = open(width: width, height: height, label: title)
        for (index, row) in rows.enumerated() {
            let y = top + index * rowHeight
            svg += "<text x=\"\(left - 6)\" y=\"\(y + 15)\" text-anchor=\"end\">\(HTML.escape(row.label))</text>"
            if let quartiles = row.quartiles {
                let boxWidth = max(x(quartiles.third) - x(quartiles.first), 2)
                svg += "<rect class=\"box\(row.emphasised ? " region" : "")\" x=\"\(format(x(quartiles.first)))\" y=\"\(y + 4)\" width=\"\(format(boxWidth))\" height=\"14\"><title>Q1 \(days(quartiles.first)) · mediaan \(days(quartiles.median)) · Q3 \(days(quartiles.third)) dagen</title></rect>"
                svg += "<line class=\"median\" x1=\"\(format(x(quartiles.median)))\" y1=\"\(y + 2)\" x2=\"\(format(x(quartiles.median)))\" y2=\"\(y + 20)\"/>"
                svg += "<text class=\"small\" x=\"\(format(min(x(quartiles.third) + 4, Double(width - right))))\" y=\"\(y + 15)\">\(days(quartiles.median)) d</text>"
            } else {
                svg += "<text class=\"xmark\" x=\"\(left + 4)\" y=\"\(y + 15)\">x</text>"
            }
        }
        let axisY = top + rows.count * rowHeight + 4
        svg += "<line class=\"axis\" x1=\"\(left)\" y1=\"\(axisY)\" x2=\"\(width - right)\" y2=\"\(axisY)\"/>"
        svg += "<text class=\"small\" x=\"\(left)\" y=\"\(axisY + 14)\">0</text>"
        svg += "<text class=\"small\" x=\"\(width - right)\" y=\"\(axisY + 14)\" text-anchor=\"end\">\(maximum) dagen</text>"
        return svg + "</svg>\n"
    }

    struct BarRow {
        var label: String
        var value: Int?
        var detail: String?
    }

    /// Horizontal bars with their value; a withheld value is an "x".
    static func horizontalBars(rows: [BarRow], maximum: Int, unit: String, title: String) -> String {
        let width = 640, rowHeight = 22, left = 210, right = 190, top = 4
        let height = top + rows.count * rowHeight + 4
        let plotWidth = Double(width - left - right)
        var svg = open(width: width, height: height, label: title)
        for (index, row) in rows.enumerated() {
            let y = top + index * rowHeight
            svg += "<text x=\"\(left - 6)\" y=\"\(y + 15)\" text-anchor=\"end\">\(HTML.escape(row.label))</text>"
            svg += "<line class=\"axis\" x1=\"\(left)\" y1=\"\(y + 19)\" x2=\"\(format(Double(left) + plotWidth))\" y2=\"\(y + 19)\"/>"
            if let value = row.value {
                let barWidth = plotWidth * Double(value) / Double(max(maximum, 1))
                svg += "<rect class=\"bar\" x=\"\(left)\" y=\"\(y + 4)\" width=\"\(format(max(barWidth, 1)))\" height=\"14\"><title>\(value) \(unit)</title></rect>"
                svg += "<text x=\"\(format(Double(left) + plotWidth + 6))\" y=\"\(y + 15)\">\(value) \(unit)\(row.detail.map { " · " + HTML.escape($0) } ?? "")</text>"
            } else {
                svg += "<text class=\"xmark\" x=\"\(left + 4)\" y=\"\(y + 15)\">x</text>"
            }
        }
        return svg + "</svg>\n"
    }

    /// A small line of rows per week.
    static func sparkline(values: [Int], title: String) -> String {
        let width = 160, height = 30
        let maximum = max(values.max() ?? 0, 10)
        let step = Double(width - 4) / Double(max(values.count - 1, 1))
        let points = values.enumerated().map { index, value in
            "\(format(2 + Double(index) * step)),\(format(Double(height - 3) - Double(height - 6) * Double(value) / Double(maximum)))"
        }.joined(separator: " ")
        return open(width: width, height: height, label: title, title: "\(title): \(values.map(String.init).joined(separator: ", "))")
            + "<polyline class=\"spark\" points=\"\(points)\"/></svg>"
    }

    static func days(_ centidays: Int) -> String {
        StatisticsAnswer.days(centidays, decimalSeparator: ",")
    }

    /// A coordinate with at most one decimal, so the page is the same on every run.
    static func format(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return tenths % 10 == 0 ? String(tenths / 10) : "\(tenths / 10).\(abs(tenths % 10))"
    }
}
