#pragma once
/// @brief A read-only transaction that sees one snapshot of the database.

namespace soci {
class session;
}

namespace solod {

/// Begins a read transaction (PostgreSQL: REPEATABLE READ READ ONLY; SQLite
/// in WAL mode: a deferred transaction, whose first read fixes the
/// snapshot); rolls it back when it goes. For readers that must not see
/// writes committed while they read (verifying the audit chain, streaming a
/// report).
class read_snapshot {
public:
  explicit read_snapshot(soci::session& sql);
  ~read_snapshot();
  read_snapshot(const read_snapshot&) = delete;
  read_snapshot& operator=(const read_snapshot&) = delete;

private:
  soci::session& sql_;
};

} // namespace solod
