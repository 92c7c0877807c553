/// A day in the proleptic Gregorian calendar, with no time of day and no time zone.
///
/// Feeds speak in days (`dd/mm/yyyy`), and so does the law (a LAC session date, a
/// disconnection date). Keeping days as days avoids the off-by-one-day errors that come from
/// turning them into instants in some time zone.
public struct CalendarDate: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// Creates a date, or returns nil when the day does not exist (31/02, month 13, …).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month),
              day >= 1, day <= CalendarDate.daysIn(month: month, year: year) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// A date known to exist (taken apart from one that did).
    init(validYear year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// The date as year·512 + month·32 + day: four bytes that order as the dates do (a case's
    /// step dates, a step held in memory).
    public var packed: Int32 { Int32(year << 9 | month << 5 | day) }

    /// The date of a `packed` value.
    public init(packed value: Int32) {
        self.init(validYear: Int(value >> 9), month: Int(value >> 5 & 15), day: Int(value & 31))
    }

    /// Parses the ISO form `yyyy-MM-dd`.
    public init?(iso text: some StringProtocol) {
        // Read in place (a stored date is read for every event a town pulls).
        var fields = (year: 0, month: 0, day: 0), count = 0
        for byte in text.utf8 {
            switch count {
            case 4, 7: guard byte == UInt8(ascii: "-") else { return nil }
            case 0..<10:
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                let digit = Int(byte - UInt8(ascii: "0"))
                if count < 4 { fields.year = fields.year * 10 + digit } else if count < 7 { fields.month = fields.month * 10 + digit } else { fields.day = fields.day * 10 + digit }
            default: return nil
            }
            count += 1
        }
        guard count == 10 else { return nil }
        self.init(year: fields.year, month: fields.month, day: fields.day)
    }

    /// The Dutch names of the months, January first.
    public static let dutchMonthNames = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
                                         "oktober", "november", "december"]

    /// The date as `yyyy-MM-dd`.
    public var iso: String {
        // Years outside 0…9999 (reachable only by date arithmetic) keep their sign and digits.
        guard (0...9999).contains(year) else {
            func pad(_ value: Int, _ width: Int) -> String {
                let digits = String(value.magnitude)
                return (value < 0 ? "-" : "") + String(repeating: "0", count: max(0, width - digits.count)) + digits
            }
            return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
        }
        return withISOBytes { String(decoding: $0, as: UTF8.self) }
    }

    /// Runs `body` with the date's `yyyy-MM-dd` bytes, written on the stack (for writers that
    /// take bytes: a spool, an SQLite binding). Years outside 0…9999 go through `iso`.
    public func withISOBytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        guard (0...9999).contains(year) else {
            var text = iso
            return try text.withUTF8(body)
        }
        return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 10) { text in
            func put(_ value: Int, at start: Int, width: Int) {
                var rest = value
                for position in (start..<start + width).reversed() {
                    text[position] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
            }
            put(year, at: 0, width: 4)
            text[4] = UInt8(ascii: "-")
            put(month, at: 5, width: 2)
            text[7] = UInt8(ascii: "-")
            put(day, at: 8, width: 2)
            return try body(UnsafeBufferPointer(text))
        }
    }

    public var description: String { iso }

    public static func < (lhs: CalendarDate, rhs: CalendarDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    /// Days since 1970-01-01 (negative before), by the civil-from-days algorithm of H. Hinnant.
    public var daysSinceEpoch: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let shiftedMonth = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date `daysSinceEpoch` days after 1970-01-01.
    public init(daysSinceEpoch: Int) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        self.year = year
        self.month = month
        self.day = day
    }

    /// The date `days` days later (earlier when negative).
    public func adding(days: Int) -> CalendarDate {
        CalendarDate(daysSinceEpoch: daysSinceEpoch + days)
    }

    /// The same day `months` months later (earlier when negative), clamped to the month's end.
    public func adding(months: Int) -> CalendarDate {
        let total = year * 12 + (month - 1) + months
        let newYear = total / 12, newMonth = total % 12 + 1
        return CalendarDate(year: newYear, month: newMonth, day: min(day, CalendarDate.daysIn(month: newMonth, year: newYear)))!
    }

    /// Whole days from `self` to `other` (positive when `other` is later).
    public func days(until other: CalendarDate) -> Int {
        other.daysSinceEpoch - daysSinceEpoch
    }

    /// ISO 8601 weekday: 1 is Monday, 7 is Sunday.
    public var isoWeekday: Int {
        // 1970-01-01 was a Thursday (4).
        let weekday = (daysSinceEpoch % 7 + 7 + 3) % 7
        return weekday + 1
    }

    /// The ISO 8601 week this date belongs to (the week-numbering year may differ from `year`).
    public var isoWeek: ISOWeek {
        let thursday = adding(days: 4 - isoWeekday)
        let firstOfYear = CalendarDate(year: thursday.year, month: 1, day: 1)!
        let week = firstOfYear.days(until: thursday) / 7 + 1
        return ISOWeek(year: thursday.year, week: week)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }


    // Codable as the ISO string, the way every file and API in the hub writes a day.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let date = CalendarDate(iso: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected a date as YYYY-MM-DD, got \(text.debugDescription)")
        }
        self = date
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(iso)
    }
}

/// An ISO 8601 week, such as 2026-W47: the unit of the weekly report and the statistics.
public struct ISOWeek: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let week: Int

    public init(year: Int, week: Int) {
        self.year = year
        self.week = week
    }

    /// Parses `yyyy-Www`, checking that the week exists in that year (years 1000 to 9998, so
    /// that every day of the week is a valid date).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "-", maxSplits: 1)
        guard parts.count == 2, parts[0].count == 4, parts[1].first == "W", parts[1].count == 3,
              let year = Int(parts[0]), (1000...9998).contains(year), let week = Int(parts[1].dropFirst()), week >= 1 else { return nil }
        let candidate = ISOWeek(year: year, week: week)
        guard candidate.monday.isoWeek == candidate else { return nil }
        self = candidate
    }

    /// The Monday that starts this week.
    public var monday: CalendarDate {
        let january4 = CalendarDate(year: year, month: 1, day: 4)!
        let firstMonday = january4.adding(days: 1 - january4.isoWeekday)
        return firstMonday.adding(days: (week - 1) * 7)
    }

    /// The Sunday that ends this week.
    public var sunday: CalendarDate { monday.adding(days: 6) }

    public var description: String {
        "\(year)-W\(week < 10 ? "0" : "")\(week)"
    }

    public static func < (lhs: ISOWeek, rhs: ISOWeek) -> Bool {
        (lhs.year, lhs.week) < (rhs.year, rhs.week)
    }
}
