#pragma once
/// @brief A transaction that takes the write lock up front.

namespace soci {
class session;
}

namespace solod {

/// Begins a write transaction; rolls back unless committed.
///
/// SQLite's plain BEGIN takes the write lock lazily, and a transaction that
/// read first and then writes fails at once with SQLITE_BUSY when another
/// connection wrote in between (the busy timeout cannot help). BEGIN IMMEDIATE
/// waits for the lock instead. PostgreSQL gets a plain BEGIN.
class write_transaction {
public:
  explicit write_transaction(soci::session& sql);
  ~write_transaction();
  write_transaction(const write_transaction&) = delete;
  write_transaction& operator=(const write_transaction&) = delete;

  /// Commits; afterwards the destructor does nothing.
  void commit();

private:
  soci::session& sql_;
  bool open_ = true;
};

} // namespace solod
