import Testing
import WaterHubDialects

/// The duplicate-id check's set answers exactly as `Set<UInt64>` does.
@Suite struct FingerprintSetTests {
    @Test func itAgreesWithTheStandardSet() {
        var generator = SystemRandomNumberGenerator()
        // Random fingerprints, repeats of them, the empty-slot value 0, and values that land in
        // the same slot (they differ only above the bits that place them).
        var values = (0..<20_000).map { _ in UInt64.random(in: 0...UInt64.max, using: &generator) }
        values += values.prefix(5_000)
        values += [0, 0, 1, 1 << 63, (1 << 63) | 1]
        values += (0..<64).map { UInt64($0) << 58 }
        values.shuffle(using: &generator)
        var ours = FingerprintSet()
        var standard = Set<UInt64>()
        for value in values {
            #expect(ours.insert(value) == standard.insert(value).inserted)
        }
        #expect(ours.count == standard.count)
        for value in values.prefix(1_000) + (0..<1_000).map({ _ in UInt64.random(in: 0...UInt64.max, using: &generator) }) {
            #expect(ours.contains(value) == standard.contains(value))
        }
    }

    @Test func disjointUnlessOneFingerprintIsShared() {
        var first = FingerprintSet(), second = FingerprintSet()
        for value in 1...3_000 { first.insert(UInt64(value) &* 0x9E37_79B9) }
        for value in 3_001...4_000 { second.insert(UInt64(value) &* 0x9E37_79B9) }
        #expect(first.isDisjoint(with: second) && second.isDisjoint(with: first))
        second.insert(UInt64(1_500) &* 0x9E37_79B9)
        #expect(!first.isDisjoint(with: second) && !second.isDisjoint(with: first))
        var zeros = FingerprintSet(), otherZeros = FingerprintSet()
        zeros.insert(0)
        #expect(zeros.isDisjoint(with: first))
        otherZeros.insert(0)
        #expect(!zeros.isDisjoint(with: otherZeros))
    }
}
