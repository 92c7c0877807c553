import WaterHubCore

/// The town databases, opened on first use and kept open for the life of the process.
///
/// Opening lazily keeps start-up fast with hundreds of towns; an actor because the set of open
/// databases is the one piece of state shared by the API, the ingest and the scheduler.
public actor TenantRegistry {
    public let directory: DataDirectory
    private let tenants: [String: Tenant]
    private var open: [String: TenantDatabase] = [:]

    public init(directory: DataDirectory, tenants: [Tenant]) {
        self.directory = directory
        self.tenants = Dictionary(uniqueKeysWithValues: tenants.map { ($0.nisCode, $0) })
    }

    /// The tenant with this NIS code, if it is one of this hub's towns.
    public nonisolated func tenant(_ nisCode: String) -> Tenant? { tenants[nisCode] }

    /// Every tenant, by NIS code.
    public nonisolated var allTenants: [Tenant] { tenants.values.sorted { $0.nisCode < $1.nisCode } }

    /// The town's database (created and migrated on first use), or nil when it is not a tenant.
    public func database(_ nisCode: String) throws -> TenantDatabase? {
        if let database = open[nisCode] { return database }
        guard let tenant = tenants[nisCode] else { return nil }
        let database = try TenantDatabase(tenant: tenant, path: directory.tenantFile(tenant))
        open[nisCode] = database
        return database
    }
}
