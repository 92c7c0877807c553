import Foundation
import WaterHubConfig
import WaterHubCore
import WaterHubStorage

/// One disagreement `waterhub verify` found: the file it is in, and what is wrong.
public struct VerificationProblem: Sendable, Hashable, CustomStringConvertible {
    public let file: String
    public let message: String

    public var description: String { "\(file): \(message)" }
}

/// What `waterhub verify` checked.
public struct VerificationReport: Sendable {
    public var townFiles = 0
    public var batchesReconciled = 0
    public var problems: [VerificationProblem] = []
}

extension Hub {
    /// Checks every file (`PRAGMA integrity_check`) and reconciles each town file with the
    /// ledger: every batch the ledger records as applied to a town is in that town's file with
    /// the same event count, every batch in a town file is one the ledger routed there, and the
    /// rows stored per batch match what the town file says it stored.
    public func verify() async throws -> VerificationReport {
        var report = VerificationReport()
        func problem(_ file: String, _ message: String) { report.problems.append(VerificationProblem(file: file, message: message)) }
        for line in try ledger.integrityProblems() { problem(directory.ledger, "integrity check: \(line)") }
        for batch in try ledger.unfinishedBatches() {
            problem(directory.ledger, "batch \(batch.id) (\(batch.source)) is \(batch.status.rawValue) but not applied to every town; `waterhub fetch` finishes it")
        }
        for tenant in configuration.tenants {
            let path = directory.tenantFile(tenant)
            let routed = try ledger.routedEvents(tenant: tenant.nisCode)
            guard FileManager.default.fileExists(atPath: path) else {
                if !routed.isEmpty { problem(path, "the file is missing, but the ledger routed \(routed.count) batch(es) to \(tenant.nisCode)") }
                continue
            }
            let database = try await registry.databaseForOnePass(tenant)
            report.townFiles += 1
            for line in try database.integrityProblems() { problem(path, "integrity check: \(line)") }
            let applied = try ledger.appliedEvents(tenant: tenant.nisCode)
            let inTown = try database.appliedBatches()
            for (batch, events) in applied.sorted(by: { $0.key < $1.key }) {
                guard let town = inTown[batch] else {
                    problem(path, "the ledger says batch \(batch) (\(events) events) was applied here, but the file does not have it")
                    continue
                }
                if town.eventsIn != events {
                    problem(path, "batch \(batch): the ledger routed \(events) events here, the file applied \(town.eventsIn)")
                }
                report.batchesReconciled += 1
            }
            for (batch, town) in inTown.sorted(by: { $0.key < $1.key }) {
                if routed[batch] == nil {
                    problem(path, "the file has batch \(batch), which the ledger never routed to \(tenant.nisCode)")
                } else if applied[batch] == nil {
                    problem(path, "batch \(batch) is applied here but the ledger has not recorded it yet; `waterhub fetch` records it")
                }
                if town.rows != town.stored {
                    problem(path, "batch \(batch): the file says it stored \(town.stored) events but holds \(town.rows) rows of it")
                }
            }
        }
        return report
    }

    /// `waterhub verify`: prints what it checked; exits 1 when anything disagrees.
    public func verifyCommand() async throws {
        let report = try await verify()
        for problem in report.problems { print(problem) }
        if !report.problems.isEmpty {
            throw CommandFailure("\(report.problems.count) problem(s) in \(directory.root)")
        }
        print("OK: the ledger and \(report.townFiles) town file(s) pass the integrity check; \(report.batchesReconciled) batch application(s) reconciled")
    }
}
