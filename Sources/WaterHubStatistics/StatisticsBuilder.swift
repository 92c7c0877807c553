import WaterHubCore
import WaterHubDisclosure

/// Turns the towns' and the feeds' observations into the figures the cell may see.
///
/// The rules, in plain words (the dashboard and `Ops/statistics-method.md` say the same):
/// - Counts are households. A cell of a weekly table counts the households of one town with at
///   least one step of one kind dated in that week; a town's total and the grand total add the
///   cells up (so a household with two kinds of steps in one week counts twice there).
/// - The weekly tables of a month and the month's regional list are suppressed together
///   (`LinkedTables`): a count from 1 to k − 1 is withheld, and so is a total whose households
///   number fewer than k; then further figures until no withheld figure can be narrowed by
///   addition and subtraction to a range narrower than the protection range.
/// - A duration's quartiles and a share are shown only when computed from at least k households;
///   a town's duration is shown without its number of households.
/// - Feed row counts are rounded to tens.
/// - Nothing depends on the clock: the same data always gives the same figures.
public enum StatisticsBuilder {
    /// How many weeks of feed health are shown, back from the latest week a batch arrived in.
    public static let feedWeeks = 12

    /// Computes every published figure.
    public static func publish(towns: [TownObservations], feeds: [FeedObservations], policy: DisclosurePolicy) -> PublishedStatistics {
        let towns = towns.sorted { $0.tenant.nisCode < $1.tenant.nisCode }
        let (weeks, months) = countTables(towns: towns, policy: policy)
        return PublishedStatistics(
            threshold: policy.threshold,
            protectionRange: policy.protectionRange,
            towns: towns.map(\.tenant),
            dataThrough: weeks.last?.week.sunday,
            weeks: weeks,
            months: months,
            durations: durations(towns: towns, policy: policy),
            protectedShares: protectedShares(towns: towns, policy: policy),
            outreach: outreach(towns: towns, policy: policy),
            feeds: feedHealth(feeds)
        )
    }

    // MARK: counts

    static func countTables(towns: [TownObservations], policy: DisclosurePolicy) -> ([WeeklyFigures], [MonthlyFigures]) {
        let types = PublishedStatistics.eventTypes
        let weeksWithData = Set(towns.flatMap { $0.householdsPerWeek.keys }).sorted()
        let byMonth = Dictionary(grouping: weeksWithData, by: StatisticsMonth.init(of:))
        // Months never share a week, so each month's tables are protected on their own, on as
        // many cores as there are; the results are put together in month order.
        let months = byMonth.keys.sorted()
        // Labels are codes; the readers put names on them.
        let rowLabels = towns.map(\.tenant.nisCode), columnLabels = types.map(\.rawValue)
        let published = months.concurrentMap { month -> (weeks: [ISOWeek], published: PublishedLinkedTables) in
            let weeks = byMonth[month]!    // in order: grouping keeps the order of the sorted weeks
            var tables: [CountTable] = []
            var sensitive: [Set<TablePosition>] = []
            for week in weeks {
                let cells = towns.map { town in
                    let counts = town.householdsPerWeek[week]
                    return types.map { counts?[$0] ?? 0 }
                }
                let table = try! CountTable(rowLabels: rowLabels, columnLabels: columnLabels, cells: cells)
                tables.append(table)
                var positions = Set<TablePosition>()
                var regionHouseholds = 0
                for (row, town) in towns.enumerated() {
                    let households = town.householdsPerWeekAnyType[week] ?? 0
                    regionHouseholds += households
                    if households < policy.threshold { positions.insert(.rowTotal(row: row)) }
                }
                if regionHouseholds < policy.threshold { positions.insert(.grandTotal) }
                sensitive.append(positions)
            }
            let linked = try! LinkedTables(tables: tables)
            var sensitiveSums = Set<Int>()
            for (column, type) in types.enumerated() {
                let households = towns.reduce(0) { $0 + ($1.householdsPerMonth[month]?[type] ?? 0) }
                if households < policy.threshold { sensitiveSums.insert(column) }
            }
            if towns.reduce(0, { $0 + ($1.householdsPerMonthAnyType[month] ?? 0) }) < policy.threshold {
                sensitiveSums.insert(types.count)
            }
            return (weeks, suppress(linked, policy: policy, additionallySensitive: AdditionalSensitivity(tables: sensitive, sums: sensitiveSums)))
        }
        var weekly: [WeeklyFigures] = []
        var monthly: [MonthlyFigures] = []
        for (month, result) in zip(months, published) {
            for (week, table) in zip(result.weeks, result.published.tables) { weekly.append(WeeklyFigures(week: week, table: table)) }
            monthly.append(MonthlyFigures(month: month, list: result.published.sums))
        }
        return (weekly, monthly)
    }

    // MARK: durations, shares, outreach

    static func durations(towns: [TownObservations], policy: DisclosurePolicy) -> [DurationFigure] {
        var figures: [DurationFigure] = []
        for measure in DurationMeasure.allCases {
            let region = towns.flatMap { $0.durations[measure] ?? [] }
            let regionQuartiles = quartiles(region, policy: policy)
            figures.append(DurationFigure(measure: measure, scope: .region,
                                          households: regionQuartiles.isSuppressed ? nil : region.count, quartiles: regionQuartiles))
            for town in towns {
                figures.append(DurationFigure(measure: measure, scope: .town(town.tenant.nisCode), households: nil,
                                              quartiles: quartiles(town.durations[measure] ?? [], policy: policy)))
            }
        }
        return figures
    }

    static func quartiles(_ days: [Int], policy: DisclosurePolicy) -> Disclosed<Quartiles> {
        guard let quartiles = Quartiles(days: days) else { return .suppressed(.primary) }
        return discloseStatistic(quartiles, householdCount: days.count, policy: policy)
    }

    static func protectedShares(towns: [TownObservations], policy: DisclosurePolicy) -> [ProtectedShareFigure] {
        CaseState.allCases.map { state in
            let known = towns.reduce(0) { $0 + ($1.protectedByState[state]?.known ?? 0) }
            let protected = towns.reduce(0) { $0 + ($1.protectedByState[state]?.protected ?? 0) }
            return ProtectedShareFigure(state: state, percent: discloseStatistic(percent(protected, of: known), householdCount: known, policy: policy))
        }
    }

    static func outreach(towns: [TownObservations], policy: DisclosurePolicy) -> [OutreachFigure] {
        ContactMethod.allCases.map { method in
            var total = ContactTally()
            for town in towns {
                let tally = town.contacts[method] ?? ContactTally()
                total.contacts += tally.contacts
                total.households += tally.households
                total.reached += tally.reached
            }
            let counts = OutreachCounts(households: total.households, contacts: total.contacts,
                                        reachedPercent: percent(total.reached, of: total.contacts))
            return OutreachFigure(method: method, counts: discloseStatistic(counts, householdCount: total.households, policy: policy))
        }
    }

    /// A whole percentage, rounded half up; 0 for an empty group (never published: fewer than k).
    static func percent(_ part: Int, of whole: Int) -> Int {
        whole == 0 ? 0 : (part * 200 + whole) / (whole * 2)
    }

    // MARK: feeds

    static func feedHealth(_ feeds: [FeedObservations]) -> [FeedFigure] {
        let latest = feeds.flatMap { $0.rowsPerWeek.keys }.max()
        let window: [ISOWeek] = latest.map { last in
            (0..<feedWeeks).reversed().map { last.monday.adding(days: -7 * $0).isoWeek }
        } ?? []
        return feeds.sorted { $0.source < $1.source }.map { feed in
            var rounded: [ISOWeek: Int] = [:]
            var rows = 0, quarantined = 0
            for week in window {
                let count = feed.rowsPerWeek[week] ?? 0
                rounded[week] = roundedToTens(count)
                rows += count
                quarantined += feed.quarantinedPerWeek[week] ?? 0
            }
            return FeedFigure(source: feed.source, name: feed.name, lastDelivery: feed.lastDelivery, roundedRowsPerWeek: rounded,
                              quarantinedPercent: rows == 0 ? nil : percent(quarantined, of: rows))
        }
    }

    /// Rounds to the nearest ten; any rows at all show as at least 10, so a live feed never looks empty.
    static func roundedToTens(_ count: Int) -> Int {
        count == 0 ? 0 : max(10, (count + 5) / 10 * 10)
    }
}
