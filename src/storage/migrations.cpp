#include "storage/migrations.hpp"

#include "storage/write_transaction.hpp"

#include <soci/soci.h>

#include <string>
#include <vector>

namespace solod {

namespace {

/// One step of the schema; `{{pk}}` becomes the dialect's auto-increment key.
struct migration {
  int version;
  std::vector<std::string> statements;
};

const std::vector<migration>& all_migrations() {
  static const std::vector<migration> list = {
    {1,
     {
       R"(CREATE TABLE users (
            id {{pk}},
            username TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            full_name TEXT NOT NULL DEFAULT '',
            email TEXT NOT NULL DEFAULT '',
            is_admin INTEGER NOT NULL DEFAULT 0,
            is_active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            last_login TEXT))",
       // Usernames compare case-insensitively, in the database too.
       "CREATE UNIQUE INDEX users_username_ci ON users (lower(username))",
       R"(CREATE TABLE user_attributes (
            user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (user_id, name)))",
       R"(CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            user_id BIGINT NOT NULL REFERENCES users(id),
            login_ts TEXT NOT NULL,
            logout_ts TEXT,
            end_reason TEXT,
            ip_address TEXT NOT NULL DEFAULT '',
            user_agent TEXT NOT NULL DEFAULT '',
            system_info TEXT NOT NULL DEFAULT '',
            last_seen TEXT NOT NULL,
            expires_at TEXT NOT NULL))",
       // The database itself refuses a second live session of one user,
       // whatever the application does (several nodes, a bug, a race).
       "CREATE UNIQUE INDEX sessions_one_live_per_user ON sessions (user_id) WHERE logout_ts IS NULL",
       "CREATE INDEX sessions_login_ts ON sessions (login_ts)",
       R"(CREATE TABLE login_logs (
            id {{pk}},
            timestamp TEXT NOT NULL,
            event_type TEXT NOT NULL,
            user_id BIGINT,
            username TEXT NOT NULL DEFAULT '',
            session_id TEXT,
            ip_address TEXT NOT NULL DEFAULT '',
            user_agent TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL,
            error_message TEXT NOT NULL DEFAULT '',
            legal_basis TEXT NOT NULL DEFAULT 'legal_obligation'))",
       "CREATE INDEX login_logs_timestamp ON login_logs (timestamp)",
       "CREATE INDEX login_logs_user ON login_logs (user_id, timestamp)",
       "CREATE INDEX login_logs_session ON login_logs (session_id)",
       R"(CREATE VIEW active_sessions AS
            SELECT s.id, s.user_id, u.username, s.login_ts, s.ip_address, s.user_agent,
                   s.system_info, s.last_seen, s.expires_at
            FROM sessions s JOIN users u ON u.id = s.user_id
            WHERE s.logout_ts IS NULL)",
       R"(CREATE VIEW user_login_summary AS
            SELECT u.id AS user_id, u.username,
                   SUM(CASE WHEN l.event_type = 'login_success' THEN 1 ELSE 0 END) AS successful_logins,
                   SUM(CASE WHEN l.event_type = 'login_failure' THEN 1 ELSE 0 END) AS failed_logins,
                   MAX(CASE WHEN l.event_type = 'login_success' THEN l.timestamp END) AS last_login,
                   MAX(CASE WHEN l.event_type = 'login_failure' THEN l.timestamp END) AS last_failure
            FROM users u LEFT JOIN login_logs l ON l.user_id = u.id
            GROUP BY u.id, u.username)",
     }},
    {2,
     {
       // Admin queries (issue 5): every filter walks its own index newest
       // first, so a filtered page of 100 never sorts or scans the table.
       "DROP INDEX login_logs_timestamp",
       "CREATE INDEX login_logs_ts_id ON login_logs (timestamp, id)",
       "CREATE INDEX login_logs_username_ts ON login_logs (lower(username), timestamp, id)",
       "CREATE INDEX login_logs_ip_ts ON login_logs (ip_address, timestamp, id)",
       "CREATE INDEX login_logs_event_ts ON login_logs (event_type, timestamp, id)",
       // Every index costs each audit insert; these two served no query.
       "DROP INDEX login_logs_user",
       "DROP INDEX login_logs_session",
       "CREATE INDEX sessions_user_login ON sessions (user_id, login_ts)",
       "CREATE INDEX sessions_ip_login ON sessions (ip_address, login_ts)",
     }},
    {3,
     {
       // Several nodes (issue 10). Each node's heartbeat; a node whose
       // heartbeat is older than the dead-node bound is reaped with its rows.
       R"(CREATE TABLE cluster_nodes (
            id TEXT PRIMARY KEY,
            started_at TEXT NOT NULL,
            heartbeat_at TEXT NOT NULL,
            address TEXT NOT NULL DEFAULT ''))",
       // Every authenticated WebSocket of every node: cluster-wide presence,
       // and the admin page's "which node holds this connection".
       R"(CREATE TABLE cluster_connections (
            node_id TEXT NOT NULL,
            connection_id TEXT NOT NULL,
            user_id BIGINT NOT NULL,
            username TEXT NOT NULL,
            session_id TEXT NOT NULL,
            ip_address TEXT NOT NULL DEFAULT '',
            user_agent TEXT NOT NULL DEFAULT '',
            connected_at TEXT NOT NULL,
            PRIMARY KEY (node_id, connection_id)))",
       "CREATE INDEX cluster_connections_session ON cluster_connections (session_id)",
       // News between nodes: polled on SQLite (the CLI beside one server);
       // on PostgreSQL only payloads too big for NOTIFY land here.
       R"(CREATE TABLE cluster_news (
            id {{pk}},
            created_at TEXT NOT NULL,
            origin TEXT NOT NULL,
            payload TEXT NOT NULL))",
       "CREATE INDEX cluster_news_created ON cluster_news (created_at)",
       // Cluster-wide facts, such as the fingerprint of the shared JWT secret.
       R"(CREATE TABLE cluster_settings (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL))",
       // The shared lockout: failures of every node, and the locks they caused.
       R"(CREATE TABLE login_failures (
            user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            failed_at TEXT NOT NULL))",
       "CREATE INDEX login_failures_user ON login_failures (user_id, failed_at)",
       R"(CREATE TABLE account_locks (
            user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
            locked_until TEXT NOT NULL))",
     }},
    {4,
     {
       // Attributes usable (issue 11): each value has a type (string,
       // integer, float, boolean, json), as in the classic schema; the value
       // is stored as text in that type's canonical form.
       "ALTER TABLE user_attributes ADD COLUMN attribute_type TEXT NOT NULL DEFAULT 'string'",
     }},
    {5,
     {
       // The webhook outbox (issue 13): each event is written in the
       // transaction of its change; a worker on one node fans it out into one
       // delivery per endpoint that wants it, and delivers those in order per
       // endpoint and user. `user_id` is an ordering key, not a reference:
       // an event outlives a deleted user.
       R"(CREATE TABLE webhook_events (
            id {{pk}},
            msg_id TEXT NOT NULL UNIQUE,
            user_id BIGINT NOT NULL,
            type TEXT NOT NULL,
            payload TEXT NOT NULL,
            created_at TEXT NOT NULL,
            fanned_out INTEGER NOT NULL DEFAULT 0))",
       "CREATE INDEX webhook_events_fanout ON webhook_events (fanned_out, id)",
       R"(CREATE TABLE webhook_deliveries (
            event_id BIGINT NOT NULL REFERENCES webhook_events(id) ON DELETE CASCADE,
            endpoint TEXT NOT NULL,
            user_id BIGINT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            last_error TEXT NOT NULL DEFAULT '',
            done_at TEXT,
            PRIMARY KEY (endpoint, event_id)))",
       "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at)",
       "CREATE INDEX webhook_deliveries_order ON webhook_deliveries (endpoint, user_id, state, event_id)",
     }},
    {6,
     {
       // Data-subject rights (issue 14): an erased account stays as a
       // tombstone (its sessions and audit rows keep their legal basis and
       // their foreign key); one user's rows are found by id, not by name.
       "ALTER TABLE users ADD COLUMN erased_at TEXT",
       "ALTER TABLE sessions ADD COLUMN legal_basis TEXT NOT NULL DEFAULT 'legal_obligation'",
       "CREATE INDEX login_logs_user_ts ON login_logs (user_id, timestamp, id)",
       // The users list's login summary counts one account's rows of one type.
       "CREATE INDEX login_logs_user_event ON login_logs (user_id, event_type, timestamp)",
       // An erasure finds the person's webhook events by id.
       "CREATE INDEX webhook_events_user ON webhook_events (user_id)",
       // Peak live sessions sweep the ends of an hour as well as its starts.
       "CREATE INDEX sessions_logout_ts ON sessions (logout_ts)",
       // The statistics cache: one row per closed UTC hour, derived from
       // login_logs and sessions (audit_stats.cpp); dropping it loses nothing.
       R"(CREATE TABLE stats_hours (
            hour TEXT PRIMARY KEY,
            live_at_end BIGINT NOT NULL,
            new_sessions BIGINT NOT NULL,
            peak_live BIGINT NOT NULL))",
       R"(CREATE TABLE stats_events (
            hour TEXT NOT NULL,
            event_type TEXT NOT NULL,
            reason TEXT NOT NULL,
            n BIGINT NOT NULL,
            PRIMARY KEY (hour, event_type, reason)))",
       // Failures of each cached hour by address and by name, and their sums
       // per whole cached UTC day (failure_ranking.cpp): a month's top lists.
       R"(CREATE TABLE stats_hour_failures (
            hour TEXT NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            n BIGINT NOT NULL,
            PRIMARY KEY (hour, kind, name)))",
       "CREATE TABLE stats_days (day TEXT PRIMARY KEY)",
       R"(CREATE TABLE stats_day_failures (
            day TEXT NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            n BIGINT NOT NULL,
            PRIMARY KEY (day, kind, name)))",
       // A name's cached failures over a range (the top lists' exact merge).
       "CREATE INDEX stats_hour_failures_name ON stats_hour_failures (kind, name, hour)",
       "CREATE INDEX stats_day_failures_name ON stats_day_failures (kind, name, day)",
     }},
    {7,
     {
       // The tamper-evident audit log (issue 15, audit_chain.hpp): each row's
       // key for its personal fields and its hash in the chain. Rows written
       // before this version stay outside the chain (at or below genesis_id).
       "ALTER TABLE login_logs ADD COLUMN chain_key TEXT",
       "ALTER TABLE login_logs ADD COLUMN row_hash TEXT",
       R"(CREATE TABLE audit_chain (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            genesis_id BIGINT NOT NULL,
            last_id BIGINT NOT NULL,
            head TEXT NOT NULL))",
       "INSERT INTO audit_chain (id, genesis_id, last_id, head) SELECT 1, COALESCE(MAX(id), 0), "
       "COALESCE(MAX(id), 0), '" + std::string(64, '0') + "' FROM login_logs",
       R"(CREATE TABLE audit_checkpoints (
            id {{pk}},
            row_id BIGINT NOT NULL,
            head TEXT NOT NULL,
            genesis_id BIGINT NOT NULL,
            created_at TEXT NOT NULL,
            public_key TEXT NOT NULL,
            signature TEXT NOT NULL))",
       "CREATE INDEX audit_checkpoints_row ON audit_checkpoints (row_id)",
       "CREATE INDEX audit_checkpoints_created ON audit_checkpoints (created_at)",
     }},
  };
  return list;
}

std::string expand(std::string sql, sql_dialect dialect) {
  const std::string key = "{{pk}}";
  const std::string pk = dialect == sql_dialect::sqlite ? "INTEGER PRIMARY KEY AUTOINCREMENT"
                                                        : "BIGSERIAL PRIMARY KEY";
  for (auto pos = sql.find(key); pos != std::string::npos; pos = sql.find(key)) {
    sql.replace(pos, key.size(), pk);
  }
  return sql;
}

int current_version(soci::session& sql) {
  sql << "CREATE TABLE IF NOT EXISTS solod_schema (version INTEGER NOT NULL)";
  int version = 0;
  soci::indicator ind = soci::i_null;
  sql << "SELECT MAX(version) FROM solod_schema", soci::into(version, ind);
  return ind == soci::i_ok ? version : 0;
}

/// A session-wide PostgreSQL advisory lock around the whole migration, so
/// nodes starting together on an empty database migrate one after the other:
/// the first creates everything, the others find it done. (Without it, two
/// concurrent `CREATE TABLE IF NOT EXISTS` can still collide in the catalog.)
/// SQLite needs none: BEGIN IMMEDIATE and the version check serialize it.
class migration_lock {
public:
  /// "solod" in ASCII: a fixed key every solod node agrees on.
  static constexpr long long key = 0x736f6c6f64;

  migration_lock(soci::session& sql, sql_dialect dialect)
    : sql_(sql), held_(dialect == sql_dialect::postgresql) {
    if (held_) {
      sql_ << "SELECT pg_advisory_lock(" + std::to_string(key) + ")";
    }
  }
  ~migration_lock() {
    if (held_) {
      try {
        sql_ << "SELECT pg_advisory_unlock(" + std::to_string(key) + ")";
      } catch (...) {
        // The connection broke: the server released the lock with it.
      }
    }
  }
  migration_lock(const migration_lock&) = delete;
  migration_lock& operator=(const migration_lock&) = delete;

private:
  soci::session& sql_;
  bool held_;
};

} // namespace

int latest_schema_version() {
  return all_migrations().back().version;
}

int migrate(soci::session& sql, sql_dialect dialect) {
  try {
    migration_lock lock(sql, dialect);
    int version = current_version(sql);
    for (const auto& step : all_migrations()) {
      if (step.version <= version) {
        continue;
      }
      // BEGIN IMMEDIATE on SQLite: two processes that both read the old
      // version must not both go on to write (SQLITE_BUSY, no wait).
      write_transaction tx(sql);
      // Another process may have migrated meanwhile: check again inside the transaction.
      if (current_version(sql) >= step.version) {
        tx.commit();
        continue;
      }
      for (const auto& statement : step.statements) {
        sql << expand(statement, dialect);
      }
      sql << "INSERT INTO solod_schema (version) VALUES (:v)", soci::use(step.version);
      tx.commit();
      version = step.version;
    }
    return current_version(sql);
  } catch (const std::exception& e) {
    throw database_error(std::string("migration failed: ") + e.what());
  }
}

} // namespace solod
