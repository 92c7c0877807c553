import WaterHubCore

/// The town databases, opened on first use; the most recently used stay open.
///
/// Opening lazily keeps start-up fast with hundreds of towns, and keeping only the recently
/// used ones open keeps memory small (each open file holds connections and a page cache). An
/// actor, because the set of open databases is the one piece of state shared by the API, the
/// ingest and the scheduler. A database dropped from the set closes when its last user is done.
public actor TenantRegistry {
    public let directory: DataDirectory
    private let tenants: [String: Tenant]
    private var open: [String: TenantDatabase] = [:]
    private var lastUse: [String: UInt64] = [:]
    private var clock: UInt64 = 0
    /// How many town databases stay open at most.
    public let capacity: Int

    public init(directory: DataDirectory, tenants: [Tenant], capacity: Int = 48) {
        self.directory = directory
        self.tenants = Dictionary(uniqueKeysWithValues: tenants.map { ($0.nisCode, $0) })
        self.capacity = max(1, capacity)
    }

    /// The tenant with this NIS code, if it is one of this hub's towns.
    public nonisolated func tenant(_ nisCode: String) -> Tenant? { tenants[nisCode] }

    /// Every tenant, by NIS code.
    public nonisolated var allTenants: [Tenant] { tenants.values.sorted { $0.nisCode < $1.nisCode } }

    /// The town's database for one pass over many towns (retention, statistics): the open one if
    /// there is one, else opened without being kept, so a pass over hundreds of towns does not
    /// leave them all open.
    public func databaseForOnePass(_ tenant: Tenant) throws -> TenantDatabase {
        if let database = open[tenant.nisCode] { return database }
        return try TenantDatabase(tenant: tenant, path: directory.tenantFile(tenant))
    }

    /// The town's database (created and migrated on first use), or nil when it is not a tenant.
    public func database(_ nisCode: String) throws -> TenantDatabase? {
        clock += 1
        if let database = open[nisCode] {
            lastUse[nisCode] = clock
            return database
        }
        guard let tenant = tenants[nisCode] else { return nil }
        let database = try TenantDatabase(tenant: tenant, path: directory.tenantFile(tenant))
        if open.count >= capacity, let oldest = lastUse.min(by: { $0.value < $1.value })?.key {
            open[oldest] = nil
            lastUse[oldest] = nil
        }
        open[nisCode] = database
        lastUse[nisCode] = clock
        return database
    }
}
