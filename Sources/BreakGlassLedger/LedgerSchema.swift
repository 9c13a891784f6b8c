import BreakGlassCore
import GRDB

/// The ledger's schema. The invariants live here, not in Swift code: UNIQUE (case_id, tenant_id), CHECKs on
/// states, and triggers that refuse forbidden transitions whatever program writes to the file.
enum LedgerSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-ledger-outbox") { db in
            try createTables(db)
            try createTriggers(db)
        }
        // Issue 15.10: the boot-clock anchor every process of the ledger tells lease time by (`LeaseClock`).
        migrator.registerMigration("v2-clock-anchor") { db in
            try db.execute(
                sql: """
                    CREATE TABLE clock_anchor (
                        boot_id TEXT PRIMARY KEY,
                        wall REAL NOT NULL,
                        boot REAL NOT NULL
                    ) WITHOUT ROWID
                    """)
        }
        // Issue 21: messages verified in full before a claim, by the SHA-256 of their exact bytes, so that a fresh
        // worker answers byte-identical copies of decided keys without verifying them again.
        migrator.registerMigration("v3-verified-messages") { db in
            try db.execute(
                sql: """
                    CREATE TABLE verified_messages (
                        digest BLOB PRIMARY KEY CHECK (length(digest) = 32),
                        case_id TEXT NOT NULL,
                        tenant_id TEXT NOT NULL,
                        request_id TEXT NOT NULL,
                        not_after REAL NOT NULL,
                        key_id TEXT NOT NULL,
                        public_key BLOB NOT NULL CHECK (length(public_key) = 32),
                        created_at REAL NOT NULL
                    ) WITHOUT ROWID
                    """)
            try db.execute(sql: "CREATE INDEX verified_messages_not_after ON verified_messages (not_after)")
        }
        return migrator
    }

    private static func sqlList(_ values: [String]) -> String {
        values.map { "'\($0)'" }.joined(separator: ", ")
    }

    // Times are REAL seconds since 1970 (UTC) everywhere.
    private static func createTables(_ db: Database) throws {
        let states = sqlList(RestorationState.allCases.map(\.rawValue))
        let inFlight = sqlList(RestorationState.allCases.filter(\.isInFlight).map(\.rawValue))
        let stages = sqlList(TakeoverRecord.Stage.allCases.map(\.rawValue))
        try db.execute(
            sql: """
                CREATE TABLE state_transitions (
                    from_state TEXT NOT NULL CHECK (from_state IN (\(states))),
                    to_state TEXT NOT NULL CHECK (to_state IN (\(states))),
                    via TEXT NOT NULL,
                    PRIMARY KEY (from_state, to_state, via)
                ) WITHOUT ROWID;

                CREATE TABLE restorations (
                    id INTEGER PRIMARY KEY,
                    case_id TEXT NOT NULL,
                    tenant_id TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN (\(states))),
                    epoch INTEGER NOT NULL DEFAULT 0 CHECK (epoch >= 0),
                    owner TEXT,
                    lease_expires_at REAL,
                    request_id TEXT NOT NULL,
                    payload BLOB,
                    resume_count INTEGER NOT NULL DEFAULT 0 CHECK (resume_count >= 0),
                    takeover_id TEXT REFERENCES takeovers(id),
                    approval_refs TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(approval_refs)),
                    recheck_times TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(recheck_times)),  -- [seconds since 1970, …]
                    reasons TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(reasons)),
                    confirmation_id TEXT,
                    grant_expires_at REAL,
                    escalate INTEGER NOT NULL DEFAULT 0 CHECK (escalate IN (0, 1)),
                    in_doubt INTEGER NOT NULL DEFAULT 0 CHECK (in_doubt IN (0, 1)),
                    reconciled INTEGER NOT NULL DEFAULT 0 CHECK (reconciled IN (0, 1)),
                    revocation TEXT CHECK (revocation IN ('revoked', 'failed')),
                    revoked_by TEXT,
                    revoke_reason TEXT,
                    revoked_at REAL,
                    created_at REAL NOT NULL,
                    updated_at REAL NOT NULL,
                    submitting_at REAL,
                    decided_at REAL,
                    UNIQUE (case_id, tenant_id),
                    -- in flight ⇔ an owner and a lease
                    CHECK ((state IN (\(inFlight))) = (owner IS NOT NULL AND lease_expires_at IS NOT NULL)),
                    CHECK (state <> 'granted' OR confirmation_id IS NOT NULL),
                    CHECK (state <> 'halted' OR takeover_id IS NOT NULL),
                    CHECK (revocation IS NULL OR (state = 'granted' AND revoked_by IS NOT NULL))
                );
                CREATE INDEX restorations_in_flight ON restorations (state, lease_expires_at);
                CREATE INDEX restorations_decided_at ON restorations (decided_at);

                CREATE TABLE request_sightings (
                    case_id TEXT NOT NULL,
                    tenant_id TEXT NOT NULL,
                    request_id TEXT NOT NULL,
                    first_seen_at REAL NOT NULL,
                    last_seen_at REAL NOT NULL,
                    seen_count INTEGER NOT NULL DEFAULT 1 CHECK (seen_count >= 1),
                    PRIMARY KEY (case_id, tenant_id, request_id)
                ) WITHOUT ROWID;

                CREATE TABLE takeovers (
                    id TEXT PRIMARY KEY NOT NULL,
                    case_id TEXT NOT NULL,
                    tenant_id TEXT NOT NULL,
                    sequence INTEGER NOT NULL CHECK (sequence >= 1),
                    request_id TEXT NOT NULL,
                    stage TEXT NOT NULL CHECK (stage IN (\(stages))),
                    escalate INTEGER NOT NULL CHECK (escalate IN (0, 1)),
                    record TEXT NOT NULL CHECK (json_valid(record)),
                    created_at REAL NOT NULL,
                    resolution TEXT CHECK (resolution IN ('resumed', 'resolved')),
                    resolved_by TEXT,
                    resolved_at REAL,
                    note TEXT,
                    UNIQUE (case_id, tenant_id, sequence),
                    CHECK ((resolution IS NULL) = (resolved_by IS NULL)),
                    CHECK ((resolution IS NULL) = (resolved_at IS NULL))
                );

                CREATE TABLE outbox (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    event_id TEXT NOT NULL UNIQUE,
                    case_id TEXT NOT NULL,
                    tenant_id TEXT NOT NULL,
                    routing_key TEXT NOT NULL CHECK (routing_key <> ''),
                    content_type TEXT NOT NULL,
                    body BLOB NOT NULL,
                    created_at REAL NOT NULL,
                    published_at REAL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    last_attempt_at REAL
                );
                CREATE INDEX outbox_pending ON outbox (seq) WHERE published_at IS NULL;
                CREATE INDEX outbox_key ON outbox (case_id, tenant_id);

                -- at most one relay publishes at a time across processes
                CREATE TABLE relay_lease (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    owner TEXT NOT NULL,
                    expires_at REAL NOT NULL
                );
                """)
        for edge in RestorationStateMachine.allowedTransitions {
            try db.execute(
                sql: "INSERT INTO state_transitions (from_state, to_state, via) VALUES (?, ?, ?)",
                arguments: [edge.from.rawValue, edge.to.rawValue, edge.via.rawValue])
        }
    }

    private static func createTriggers(_ db: Database) throws {
        let final = sqlList(RestorationState.allCases.filter(\.isFinal).map(\.rawValue))
        try db.execute(
            sql: """
                -- a row starts received or claimed; nothing is born granted
                CREATE TRIGGER restorations_insert BEFORE INSERT ON restorations
                WHEN NEW.state NOT IN ('received', 'claimed') OR NEW.resume_count <> 0
                BEGIN SELECT RAISE(ABORT, 'breakglass: a restoration starts received or claimed'); END;

                -- only the edges of the state machine
                CREATE TRIGGER restorations_transition BEFORE UPDATE OF state ON restorations
                WHEN OLD.state <> NEW.state AND NOT EXISTS (
                    SELECT 1 FROM state_transitions WHERE from_state = OLD.state AND to_state = NEW.state)
                BEGIN SELECT RAISE(ABORT, 'breakglass: forbidden state transition'); END;

                -- the fencing token never goes back, and a new holder always gets a new epoch
                CREATE TRIGGER restorations_epoch BEFORE UPDATE ON restorations
                WHEN NEW.epoch < OLD.epoch
                  OR (NEW.owner IS NOT NULL AND NEW.owner IS NOT OLD.owner AND NEW.epoch <= OLD.epoch)
                  OR (OLD.state = 'gate-passed' AND NEW.state = 'claimed' AND NEW.epoch <= OLD.epoch)
                  OR (OLD.state IN ('received', 'halted') AND NEW.state = 'claimed' AND NEW.epoch <= OLD.epoch)
                BEGIN SELECT RAISE(ABORT, 'breakglass: epoch must increase with every new holder'); END;

                -- decided for good: granted, rejected and resolved rows never change their outcome
                CREATE TRIGGER restorations_final BEFORE UPDATE ON restorations
                WHEN OLD.state IN (\(final)) AND (
                    NEW.state IS NOT OLD.state OR NEW.epoch IS NOT OLD.epoch OR NEW.request_id IS NOT OLD.request_id
                    OR NEW.confirmation_id IS NOT OLD.confirmation_id OR NEW.reasons IS NOT OLD.reasons
                    OR NEW.decided_at IS NOT OLD.decided_at OR NEW.takeover_id IS NOT OLD.takeover_id
                    OR NEW.grant_expires_at IS NOT OLD.grant_expires_at OR NEW.resume_count IS NOT OLD.resume_count)
                BEGIN SELECT RAISE(ABORT, 'breakglass: a decided restoration is immutable'); END;

                -- nothing leaves halted except through the takeover resolution recorded for it
                CREATE TRIGGER restorations_leave_halted BEFORE UPDATE OF state ON restorations
                WHEN OLD.state = 'halted' AND NEW.state <> 'halted' AND NOT EXISTS (
                    SELECT 1 FROM takeovers t WHERE t.id = OLD.takeover_id
                    AND t.resolution = CASE NEW.state WHEN 'claimed' THEN 'resumed' WHEN 'resolved' THEN 'resolved' END)
                BEGIN SELECT RAISE(ABORT, 'breakglass: halted leaves only through a takeover resolution'); END;

                -- a resume counts: halted → claimed increments resume_count by exactly one; nothing else changes it
                CREATE TRIGGER restorations_resume_count BEFORE UPDATE ON restorations
                WHEN (OLD.state = 'halted' AND NEW.state = 'claimed' AND NEW.resume_count <> OLD.resume_count + 1)
                  OR (NOT (OLD.state = 'halted' AND NEW.state = 'claimed') AND NEW.resume_count <> OLD.resume_count)
                BEGIN SELECT RAISE(ABORT, 'breakglass: resume_count changes only by a resume'); END;

                -- a revocation is recorded once; a confirmed one is never undone
                CREATE TRIGGER restorations_revocation BEFORE UPDATE ON restorations
                WHEN OLD.revocation = 'revoked' AND (
                    NEW.revocation IS NOT OLD.revocation OR NEW.revoked_by IS NOT OLD.revoked_by
                    OR NEW.revoked_at IS NOT OLD.revoked_at)
                BEGIN SELECT RAISE(ABORT, 'breakglass: a revocation is never undone'); END;

                CREATE TRIGGER restorations_no_delete BEFORE DELETE ON restorations
                BEGIN SELECT RAISE(ABORT, 'breakglass: restorations are never deleted'); END;

                CREATE TRIGGER takeovers_resolution BEFORE UPDATE ON takeovers
                WHEN OLD.resolution IS NOT NULL OR NEW.record IS NOT OLD.record OR NEW.id IS NOT OLD.id
                BEGIN SELECT RAISE(ABORT, 'breakglass: a takeover record is resolved once and never rewritten'); END;

                CREATE TRIGGER takeovers_no_delete BEFORE DELETE ON takeovers
                BEGIN SELECT RAISE(ABORT, 'breakglass: takeover records are never deleted'); END;

                CREATE TRIGGER request_sightings_no_delete BEFORE DELETE ON request_sightings
                BEGIN SELECT RAISE(ABORT, 'breakglass: request sightings are never deleted'); END;

                -- an event is never lost: pending rows cannot be deleted, published ones never become pending again
                CREATE TRIGGER outbox_no_delete_pending BEFORE DELETE ON outbox
                WHEN OLD.published_at IS NULL
                BEGIN SELECT RAISE(ABORT, 'breakglass: a pending event cannot be deleted'); END;

                CREATE TRIGGER outbox_immutable BEFORE UPDATE ON outbox
                WHEN NEW.event_id IS NOT OLD.event_id OR NEW.body IS NOT OLD.body OR NEW.routing_key IS NOT OLD.routing_key
                  OR NEW.seq IS NOT OLD.seq OR (OLD.published_at IS NOT NULL AND NEW.published_at IS NOT OLD.published_at)
                BEGIN SELECT RAISE(ABORT, 'breakglass: an outbox event is immutable once written'); END;
                """)
    }
}
