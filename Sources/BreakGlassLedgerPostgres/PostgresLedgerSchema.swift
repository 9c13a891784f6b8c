import BreakGlassCore
import BreakGlassLedger

/// The PostgreSQL ledger's schema: the same tables, CHECKs and invariants as the SQLite ledger (`LedgerSchema`),
/// the triggers as PL/pgSQL functions raising `breakglass: …` errors, so that whatever program writes to the database,
/// the state machine's edges hold.
///
/// Installed by `install(on:)` in one transaction under `pg_advisory_xact_lock` (several hosts may start at once):
/// `CREATE TABLE IF NOT EXISTS`, `CREATE OR REPLACE FUNCTION`, `DROP TRIGGER IF EXISTS` + `CREATE TRIGGER`, and a row
/// in `schema_version`. A database already at `version` is left alone (no DDL, no lock on the tables).
///
/// Times are `double precision` seconds since 1970 (UTC), as in SQLite; payloads and bodies `bytea`; JSON arrays and
/// takeover records `jsonb`.
enum PostgresLedgerSchema {
    /// The schema this code writes and reads.
    static let version = 2

    /// The key of the advisory lock that serialises installations.
    static let lockName = "breakglass.ledger.schema"

    /// The channel `pg_notify` rings after a commit that wrote outbox events.
    static let outboxChannel = "breakglass_outbox"

    private static func sqlList(_ values: [String]) -> String {
        values.map { "'\($0)'" }.joined(separator: ", ")
    }

    /// The statements creating (or completing) the schema, in order; each is one statement.
    static var statements: [String] {
        tables + functions + triggers + transitions
    }

    private static var tables: [String] {
        let states = sqlList(RestorationState.allCases.map(\.rawValue))
        let inFlight = sqlList(RestorationState.allCases.filter(\.isInFlight).map(\.rawValue))
        let stages = sqlList(TakeoverRecord.Stage.allCases.map(\.rawValue))
        return [
            """
            CREATE TABLE IF NOT EXISTS state_transitions (
                from_state text NOT NULL CHECK (from_state IN (\(states))),
                to_state text NOT NULL CHECK (to_state IN (\(states))),
                via text NOT NULL,
                PRIMARY KEY (from_state, to_state, via)
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS takeovers (
                id text PRIMARY KEY NOT NULL,
                case_id text NOT NULL,
                tenant_id text NOT NULL,
                sequence integer NOT NULL CHECK (sequence >= 1),
                request_id text NOT NULL,
                stage text NOT NULL CHECK (stage IN (\(stages))),
                escalate boolean NOT NULL,
                record jsonb NOT NULL CHECK (jsonb_typeof(record) = 'object'),
                created_at double precision NOT NULL,
                resolution text CHECK (resolution IN ('resumed', 'resolved')),
                resolved_by text,
                resolved_at double precision,
                note text,
                UNIQUE (case_id, tenant_id, sequence),
                CHECK ((resolution IS NULL) = (resolved_by IS NULL)),
                CHECK ((resolution IS NULL) = (resolved_at IS NULL))
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS restorations (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                case_id text NOT NULL,
                tenant_id text NOT NULL,
                state text NOT NULL CHECK (state IN (\(states))),
                epoch bigint NOT NULL DEFAULT 0 CHECK (epoch >= 0),
                owner text,
                lease_expires_at double precision,
                request_id text NOT NULL,
                payload bytea,
                resume_count integer NOT NULL DEFAULT 0 CHECK (resume_count >= 0),
                takeover_id text REFERENCES takeovers (id),
                approval_refs jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(approval_refs) = 'array'),
                recheck_times jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(recheck_times) = 'array'),
                reasons jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(reasons) = 'array'),
                confirmation_id text,
                grant_expires_at double precision,
                escalate boolean NOT NULL DEFAULT false,
                in_doubt boolean NOT NULL DEFAULT false,
                reconciled boolean NOT NULL DEFAULT false,
                revocation text CHECK (revocation IN ('revoked', 'failed')),
                revoked_by text,
                revoke_reason text,
                revoked_at double precision,
                created_at double precision NOT NULL,
                updated_at double precision NOT NULL,
                submitting_at double precision,
                decided_at double precision,
                UNIQUE (case_id, tenant_id),
                -- in flight ⇔ an owner and a lease
                CHECK ((state IN (\(inFlight))) = (owner IS NOT NULL AND lease_expires_at IS NOT NULL)),
                CHECK (state <> 'granted' OR confirmation_id IS NOT NULL),
                CHECK (state <> 'halted' OR takeover_id IS NOT NULL),
                CHECK (revocation IS NULL OR (state = 'granted' AND revoked_by IS NOT NULL))
            )
            """,
            "CREATE INDEX IF NOT EXISTS restorations_in_flight ON restorations (state, lease_expires_at)",
            "CREATE INDEX IF NOT EXISTS restorations_decided_at ON restorations (decided_at)",
            "CREATE INDEX IF NOT EXISTS restorations_updated_at ON restorations (updated_at, id)",
            """
            CREATE TABLE IF NOT EXISTS request_sightings (
                case_id text NOT NULL,
                tenant_id text NOT NULL,
                request_id text NOT NULL,
                first_seen_at double precision NOT NULL,
                last_seen_at double precision NOT NULL,
                seen_count integer NOT NULL DEFAULT 1 CHECK (seen_count >= 1),
                PRIMARY KEY (case_id, tenant_id, request_id)
            )
            """,
            "CREATE INDEX IF NOT EXISTS takeovers_created_at ON takeovers (created_at, sequence)",
            // Version 2 (issue 21): messages verified in full before a claim, by the SHA-256 of their exact bytes.
            """
            CREATE TABLE IF NOT EXISTS verified_messages (
                digest bytea PRIMARY KEY CHECK (length(digest) = 32),
                case_id text NOT NULL,
                tenant_id text NOT NULL,
                request_id text NOT NULL,
                not_after double precision NOT NULL,
                key_id text NOT NULL,
                public_key bytea NOT NULL CHECK (length(public_key) = 32),
                created_at double precision NOT NULL
            )
            """,
            "CREATE INDEX IF NOT EXISTS verified_messages_not_after ON verified_messages (not_after)",
            """
            CREATE TABLE IF NOT EXISTS outbox (
                seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                event_id text NOT NULL UNIQUE,
                case_id text NOT NULL,
                tenant_id text NOT NULL,
                routing_key text NOT NULL CHECK (routing_key <> ''),
                content_type text NOT NULL,
                body bytea NOT NULL,
                created_at double precision NOT NULL,
                published_at double precision,
                attempts integer NOT NULL DEFAULT 0,
                last_attempt_at double precision
            )
            """,
            "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (seq) WHERE published_at IS NULL",
            "CREATE INDEX IF NOT EXISTS outbox_key ON outbox (case_id, tenant_id)",
            // at most one relay publishes at a time across processes and hosts
            """
            CREATE TABLE IF NOT EXISTS relay_lease (
                id integer PRIMARY KEY CHECK (id = 1),
                owner text NOT NULL,
                expires_at double precision NOT NULL
            )
            """,
            // `writeProbe()` upserts its one row
            """
            CREATE TABLE IF NOT EXISTS write_probe (
                id integer PRIMARY KEY CHECK (id = 1),
                probed_by text NOT NULL,
                probed_at double precision NOT NULL
            )
            """,
        ]
    }

    /// One trigger function: `condition` (PL/pgSQL over OLD/NEW) true raises `message`.
    private static func guardFunction(
        _ name: String, returning: String = "NEW", _ condition: String, _ message: String
    )
        -> String
    {
        """
        CREATE OR REPLACE FUNCTION \(name)() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
            IF \(condition) THEN
                RAISE EXCEPTION 'breakglass: \(message)' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN \(returning);
        END
        $fn$
        """
    }

    private static var functions: [String] {
        let final = sqlList(RestorationState.allCases.filter(\.isFinal).map(\.rawValue))
        return [
            // a row starts received or claimed; nothing is born granted
            guardFunction(
                "breakglass_restorations_insert",
                "NEW.state NOT IN ('received', 'claimed') OR NEW.resume_count <> 0",
                "a restoration starts received or claimed"),
            // only the edges of the state machine
            guardFunction(
                "breakglass_restorations_transition",
                """
                OLD.state <> NEW.state AND NOT EXISTS (
                    SELECT 1 FROM state_transitions WHERE from_state = OLD.state AND to_state = NEW.state)
                """,
                "forbidden state transition"),
            // the fencing token never goes back, and a new holder always gets a new epoch
            guardFunction(
                "breakglass_restorations_epoch",
                """
                NEW.epoch < OLD.epoch
                  OR (NEW.owner IS NOT NULL AND NEW.owner IS DISTINCT FROM OLD.owner AND NEW.epoch <= OLD.epoch)
                  OR (OLD.state = 'gate-passed' AND NEW.state = 'claimed' AND NEW.epoch <= OLD.epoch)
                  OR (OLD.state IN ('received', 'halted') AND NEW.state = 'claimed' AND NEW.epoch <= OLD.epoch)
                """,
                "epoch must increase with every new holder"),
            // decided for good: granted, rejected and resolved rows never change their outcome
            guardFunction(
                "breakglass_restorations_final",
                """
                OLD.state IN (\(final)) AND (
                    NEW.state IS DISTINCT FROM OLD.state OR NEW.epoch IS DISTINCT FROM OLD.epoch
                    OR NEW.request_id IS DISTINCT FROM OLD.request_id
                    OR NEW.confirmation_id IS DISTINCT FROM OLD.confirmation_id
                    OR NEW.reasons IS DISTINCT FROM OLD.reasons OR NEW.decided_at IS DISTINCT FROM OLD.decided_at
                    OR NEW.takeover_id IS DISTINCT FROM OLD.takeover_id
                    OR NEW.grant_expires_at IS DISTINCT FROM OLD.grant_expires_at
                    OR NEW.resume_count IS DISTINCT FROM OLD.resume_count
                    OR NEW.case_id IS DISTINCT FROM OLD.case_id OR NEW.tenant_id IS DISTINCT FROM OLD.tenant_id)
                """,
                "a decided restoration is immutable"),
            // nothing leaves halted except through the takeover resolution recorded for it
            guardFunction(
                "breakglass_restorations_leave_halted",
                """
                OLD.state = 'halted' AND NEW.state <> 'halted' AND NOT EXISTS (
                    SELECT 1 FROM takeovers t WHERE t.id = OLD.takeover_id
                    AND t.resolution = CASE NEW.state WHEN 'claimed' THEN 'resumed' WHEN 'resolved' THEN 'resolved' END)
                """,
                "halted leaves only through a takeover resolution"),
            // a resume counts: halted → claimed increments resume_count by exactly one; nothing else changes it
            guardFunction(
                "breakglass_restorations_resume_count",
                """
                (OLD.state = 'halted' AND NEW.state = 'claimed' AND NEW.resume_count <> OLD.resume_count + 1)
                  OR (NOT (OLD.state = 'halted' AND NEW.state = 'claimed') AND NEW.resume_count <> OLD.resume_count)
                """,
                "resume_count changes only by a resume"),
            // a revocation is recorded once; a confirmed one is never undone
            guardFunction(
                "breakglass_restorations_revocation",
                """
                OLD.revocation = 'revoked' AND (
                    NEW.revocation IS DISTINCT FROM OLD.revocation OR NEW.revoked_by IS DISTINCT FROM OLD.revoked_by
                    OR NEW.revoked_at IS DISTINCT FROM OLD.revoked_at)
                """,
                "a revocation is never undone"),
            guardFunction(
                "breakglass_restorations_no_delete", returning: "OLD", "true", "restorations are never deleted"),
            guardFunction(
                "breakglass_takeovers_resolution",
                """
                OLD.resolution IS NOT NULL OR NEW.record IS DISTINCT FROM OLD.record OR NEW.id IS DISTINCT FROM OLD.id
                """,
                "a takeover record is resolved once and never rewritten"),
            guardFunction(
                "breakglass_takeovers_no_delete", returning: "OLD", "true", "takeover records are never deleted"),
            guardFunction(
                "breakglass_request_sightings_no_delete", returning: "OLD", "true",
                "request sightings are never deleted"),
            // an event is never lost: pending rows cannot be deleted, published ones never become pending again
            guardFunction(
                "breakglass_outbox_no_delete_pending", returning: "OLD", "OLD.published_at IS NULL",
                "a pending event cannot be deleted"),
            guardFunction(
                "breakglass_outbox_immutable",
                """
                NEW.event_id IS DISTINCT FROM OLD.event_id OR NEW.body IS DISTINCT FROM OLD.body
                  OR NEW.routing_key IS DISTINCT FROM OLD.routing_key OR NEW.seq IS DISTINCT FROM OLD.seq
                  OR NEW.case_id IS DISTINCT FROM OLD.case_id OR NEW.tenant_id IS DISTINCT FROM OLD.tenant_id
                  OR (OLD.published_at IS NOT NULL AND NEW.published_at IS DISTINCT FROM OLD.published_at)
                """,
                "an outbox event is immutable once written"),
            // TRUNCATE skips row triggers: refused for the tables whose rows are never deleted
            """
            CREATE OR REPLACE FUNCTION breakglass_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $fn$
            BEGIN
                RAISE EXCEPTION 'breakglass: % is never truncated', TG_TABLE_NAME
                    USING ERRCODE = 'integrity_constraint_violation';
            END
            $fn$
            """,
            // the body of an outbox event as JSON, or NULL when it is not (for `rejectionEvents`)
            """
            CREATE OR REPLACE FUNCTION breakglass_try_json(body bytea) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $fn$
            BEGIN
                RETURN convert_from(body, 'UTF8')::jsonb;
            EXCEPTION WHEN OTHERS THEN
                RETURN NULL;
            END
            $fn$
            """,
        ]
    }

    /// (trigger, table, timing and event, function)
    private static let triggerList: [(String, String, String, String)] = [
        ("restorations_insert", "restorations", "BEFORE INSERT", "breakglass_restorations_insert"),
        ("restorations_transition", "restorations", "BEFORE UPDATE OF state", "breakglass_restorations_transition"),
        ("restorations_epoch", "restorations", "BEFORE UPDATE", "breakglass_restorations_epoch"),
        ("restorations_final", "restorations", "BEFORE UPDATE", "breakglass_restorations_final"),
        (
            "restorations_leave_halted", "restorations", "BEFORE UPDATE OF state",
            "breakglass_restorations_leave_halted"
        ),
        ("restorations_resume_count", "restorations", "BEFORE UPDATE", "breakglass_restorations_resume_count"),
        ("restorations_revocation", "restorations", "BEFORE UPDATE", "breakglass_restorations_revocation"),
        ("restorations_no_delete", "restorations", "BEFORE DELETE", "breakglass_restorations_no_delete"),
        ("takeovers_resolution", "takeovers", "BEFORE UPDATE", "breakglass_takeovers_resolution"),
        ("takeovers_no_delete", "takeovers", "BEFORE DELETE", "breakglass_takeovers_no_delete"),
        ("request_sightings_no_delete", "request_sightings", "BEFORE DELETE", "breakglass_request_sightings_no_delete"),
        ("outbox_no_delete_pending", "outbox", "BEFORE DELETE", "breakglass_outbox_no_delete_pending"),
        ("outbox_immutable", "outbox", "BEFORE UPDATE", "breakglass_outbox_immutable"),
    ]

    private static let truncateGuarded = ["restorations", "takeovers", "request_sightings", "outbox"]

    private static var triggers: [String] {
        var statements: [String] = []
        for (name, table, event, function) in triggerList {
            statements.append("DROP TRIGGER IF EXISTS \(name) ON \(table)")
            statements.append("CREATE TRIGGER \(name) \(event) ON \(table) FOR EACH ROW EXECUTE FUNCTION \(function)()")
        }
        for table in truncateGuarded {
            statements.append("DROP TRIGGER IF EXISTS \(table)_no_truncate ON \(table)")
            statements.append(
                "CREATE TRIGGER \(table)_no_truncate BEFORE TRUNCATE ON \(table) "
                    + "FOR EACH STATEMENT EXECUTE FUNCTION breakglass_no_truncate()")
        }
        return statements
    }

    /// The state machine's edges (`RestorationStateMachine.allowedTransitions`), the single list both sides use.
    private static var transitions: [String] {
        let rows = RestorationStateMachine.allowedTransitions.map {
            "('\($0.from.rawValue)', '\($0.to.rawValue)', '\($0.via.rawValue)')"
        }
        return [
            "DELETE FROM state_transitions",
            "INSERT INTO state_transitions (from_state, to_state, via) VALUES " + rows.joined(separator: ", "),
        ]
    }
}
