import GRDB
import Testing
@testable import WaterHubStorage

/// The hub runs on the SQLite compiled into it (Sources/CSQLite), with the options its README
/// lists, not on the system's library.
@Suite struct SQLiteBuildTests {
    @Test func theBuiltInSQLiteWithItsOptionsIsTheOneInUse() throws {
        #expect(SQLiteBuild.description.hasPrefix("3.50.4 (2025-07-30)"))
        let options = try DatabaseQueue().read { db in try Set(String.fetchAll(db, sql: "PRAGMA compile_options")) }
        for option in ["THREADSAFE=1", "SECURE_DELETE", "DEFAULT_MEMSTATUS=0", "OMIT_DEPRECATED", "OMIT_SHARED_CACHE",
                       "OMIT_LOAD_EXTENSION", "MAX_EXPR_DEPTH=0", "USE_ALLOCA", "LIKE_DOESNT_MATCH_BLOBS", "ENABLE_MATH_FUNCTIONS"] {
            #expect(options.contains(option), "compile option \(option)")
        }
        // Debian's build leaves the lookaside allocator out; this one has it.
        #expect(!options.contains("OMIT_LOOKASIDE"))
        #expect(try DatabaseQueue().read { db in try Int.fetchOne(db, sql: "PRAGMA secure_delete") } == 1)
    }
}
