#pragma once
/// @brief The audit actor: batches audit events and commits each batch in one transaction.

#include "config/config.hpp"
#include "storage/checkpoint_signer.hpp"
#include "storage/database.hpp"
#include "storage/records.hpp"

#include <caf/fwd.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>

namespace soci {
class session;
}

namespace solod {

struct metrics;

/// How the audit actor writes.
struct audit_actor_options {
  database_url url;
  audit_durability durability = audit_durability::commit;
  std::size_t batch_max = 512;
  std::chrono::milliseconds flush_interval{10};
  std::size_t max_held = 1'000'000; ///< events kept while the database is down; more are dropped
  metrics* stats = nullptr;         ///< may be null (tests)
  legal_basis_config legal_basis;   ///< stamped on each row by its event type
  /// Signs the chain's head every `checkpoint_interval`; none: no checkpoints (tests).
  std::shared_ptr<checkpoint_signer> signer;
  std::chrono::milliseconds checkpoint_interval{60'000};
};

/// Spawns the audit actor on a thread of its own (it blocks in SOCI).
///
/// Messages:
/// - `(audit_atom, audit_event)`: queue an event; no answer.
/// - `(commit_atom, audit_event)` -> `bool`: queue an event and answer once it is
///   committed (true) or its batch failed (false). False means the event is
///   withdrawn, never written later: the caller records what happened instead
///   (or re-sends it with `audit_atom` to have it kept and retried).
/// - `(audit_atom, audit_event, end_reply)`: queue an event, kept and retried
///   like the first kind; the callback runs (on this actor's thread: it must
///   only hand off) with true once it is committed, or with false once if its
///   first try failed or the database is being retried.
/// - `(flush_atom, count_atom)` -> `std::size_t`: commit everything held now; answers
///   how many events are still held (0 unless the database is down).
/// - `(checkpoint_atom)` -> `bool`: sign the chain's head now (at shutdown);
///   false when the database failed. The actor also does it every
///   `checkpoint_interval` by itself.
///
/// Group commit: in `commit` durability a flush is queued behind the events
/// already in the mailbox, so one transaction takes every event that arrived
/// while the previous one was committing; in `async` it runs `flush_interval`
/// after the first held event. A batch never exceeds `batch_max`. A failed
/// commit keeps the plain events and retries with backoff (50 ms doubling to 5 s).
caf::actor spawn_audit_actor(caf::actor_system& sys, audit_actor_options opts);

/// The audit actor's connection. On PostgreSQL, `commit` durability sets
/// `synchronous_commit = on`: a commit then waits for the WAL flush whatever
/// the server's or database's default says, so an acknowledged row survives
/// a crash of the database server too. Throws database_error.
std::unique_ptr<soci::session> open_audit_connection(const audit_actor_options& opts);

} // namespace solod
