#include "actors/audit_actor.hpp"

#include "actors/messages.hpp"
#include "storage/audit_chain.hpp"
#include "storage/login_log_repository.hpp"
#include "storage/write_transaction.hpp"
#include "util/metrics.hpp"

#include <caf/all.hpp>
#include <soci/soci.h>
#include <spdlog/spdlog.h>

#include <deque>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace solod {

namespace {

struct held_event {
  audit_event event;
  std::optional<caf::typed_response_promise<bool>> promise;
  /// Told the outcome of each commit of its batch, first true or false; the
  /// event itself is kept and retried like a plain one.
  end_reply on_commit;
};

struct audit_state {
  static inline const char* name = "audit";

  audit_actor_options opts;
  std::unique_ptr<soci::session> sql;
  std::deque<held_event> held;
  bool flush_queued = false;
  bool retrying = false;
  std::chrono::milliseconds backoff{50};
  std::uint64_t dropped = 0;

  void publish_depth() {
    if (opts.stats) {
      opts.stats->audit_queue_depth = static_cast<std::int64_t>(held.size());
    }
  }

  /// Answers false to every commit request held and drops its event (the
  /// depth is published first, so whoever hears "false" sees it gone).
  void withdraw_awaited() {
    std::vector<caf::typed_response_promise<bool>> refused;
    for (auto& h : held) {
      // Kept for the retry; whoever waits hears "not yet" once.
      if (h.on_commit) {
        std::exchange(h.on_commit, {})(false);
      }
    }
    std::erase_if(held, [&](held_event& h) {
      if (!h.promise) {
        return false;
      }
      refused.push_back(std::move(*h.promise));
      return true;
    });
    publish_depth();
    for (auto& p : refused) {
      p.deliver(false);
    }
  }

  /// Writes `batch` in one transaction, opening the connection if needed.
  void write_batch(const std::vector<audit_event>& batch) {
    if (!sql) {
      sql = open_audit_connection(opts);
    }
    write_transaction tx(*sql);
    login_log_repository(*sql).insert_batch(batch);
    tx.commit();
  }

  /// Commits one batch from the front; false when the database failed.
  bool commit_one_batch() {
    const auto n = std::min(held.size(), opts.batch_max);
    std::vector<audit_event> batch;
    batch.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      batch.push_back(held[i].event);
      batch.back().legal_basis = opts.legal_basis.of(batch.back().event_type);
    }
    auto started = std::chrono::steady_clock::now();
    try {
      try {
        write_batch(batch);
      } catch (const std::exception&) {
        // A connection the database dropped (a restart) fails at once: one
        // more try on a fresh connection before anyone hears "not written".
        sql.reset();
        write_batch(batch);
      }
    } catch (const std::exception& e) {
      sql.reset();
      if (opts.stats) {
        opts.stats->audit_commit_failures++;
      }
      // SOCI's what() repeats the statement with every bound value (a batch's
      // user agents and addresses, thousands of them): the database's own
      // message is enough for the log.
      const auto* soci_failure = dynamic_cast<const soci::soci_error*>(&e);
      spdlog::error("audit: commit of {} events failed, will retry: {}", n,
                    soci_failure ? soci_failure->get_error_message() : std::string(e.what()));
      // Fail closed: whoever waits for a commit hears now that it did not
      // happen, and its event is withdrawn (the caller acts on "not
      // written": a refused login must not appear later as login_success).
      // Plain events stay and are retried.
      withdraw_awaited();
      return false;
    }
    auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
    if (opts.stats) {
      opts.stats->audit_batch_size.observe(static_cast<double>(n));
      opts.stats->audit_commit_seconds.observe(elapsed.count());
      opts.stats->audit_events_committed += n;
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (held.front().promise) {
        held.front().promise->deliver(true);
      }
      if (held.front().on_commit) {
        held.front().on_commit(true);
      }
      held.pop_front();
    }
    return true;
  }
};

using audit_self = caf::stateful_actor<audit_state>;

/// Signs the chain's head (if it moved since the last checkpoint); false when the database failed.
bool sign_checkpoint(audit_self* self) {
  auto& st = self->state;
  if (!st.opts.signer) {
    return true;
  }
  try {
    if (!st.sql) {
      st.sql = open_audit_connection(st.opts);
    }
    if (auto cp = st.opts.signer->sign(*st.sql, std::chrono::system_clock::now())) {
      spdlog::debug("audit: checkpoint of row {} signed", cp->row_id);
    }
    return true;
  } catch (const chain_break& e) {
    // Someone changed signed rows in the database: nothing more is signed
    // until an operator looks (solod audit verify names the rows).
    spdlog::critical("audit: {}", e.what());
    return false;
  } catch (const std::exception& e) {
    st.sql.reset();
    spdlog::warn("audit: checkpoint not written: {}", e.what());
    return false;
  }
}

void flush(audit_self* self) {
  auto& st = self->state;
  st.flush_queued = false;
  while (!st.held.empty()) {
    if (!st.commit_one_batch()) {
      if (!st.retrying) {
        st.retrying = true;
        self->delayed_send(self, st.backoff, retry_atom::value);
        st.backoff = std::min(st.backoff * 2, std::chrono::milliseconds{5000});
      }
      break;
    }
    st.retrying = false;
    st.backoff = std::chrono::milliseconds{50};
  }
  st.publish_depth();
}

void hold(audit_self* self, audit_event ev,
          std::optional<caf::typed_response_promise<bool>> promise, end_reply on_commit = {}) {
  auto& st = self->state;
  if (st.held.size() >= st.opts.max_held) {
    // The database has been down a long time: keep memory bounded.
    if (++st.dropped % 10000 == 1) {
      spdlog::error("audit: database unavailable, {} events dropped so far", st.dropped);
    }
    if (promise) {
      promise->deliver(false);
    }
    if (on_commit) {
      on_commit(false);
    }
    return;
  }
  if (st.retrying && on_commit) {
    // Kept for the retry timer's flush; its waiter does not wait for a dead database.
    std::exchange(on_commit, {})(false);
  }
  if (st.retrying && promise) {
    // The retry timer flushes; a flush now would only hammer a dead database.
    // The caller hears "not written" at once, and the event is not kept.
    promise->deliver(false);
    return;
  }
  st.held.push_back({std::move(ev), std::move(promise), std::move(on_commit)});
  st.publish_depth();
  if (st.retrying) {
    return;
  }
  if (st.held.size() >= st.opts.batch_max) {
    flush(self);
    return;
  }
  if (!st.flush_queued) {
    st.flush_queued = true;
    if (st.opts.durability == audit_durability::commit) {
      self->send(self, flush_atom::value);
    } else {
      self->delayed_send(self, st.opts.flush_interval, flush_atom::value);
    }
  }
}

caf::behavior audit_actor(audit_self* self, audit_actor_options opts) {
  self->state.opts = std::move(opts);
  if (self->state.opts.signer) {
    self->delayed_send(self, self->state.opts.checkpoint_interval, tick_atom::value);
  }
  return {
    [=](audit_atom, audit_event& ev) { hold(self, std::move(ev), std::nullopt); },
    [=](audit_atom, audit_event& ev, end_reply& on_commit) {
      hold(self, std::move(ev), std::nullopt, std::move(on_commit));
    },
    [=](commit_atom, audit_event& ev) -> caf::result<bool> {
      auto rp = self->make_response_promise<bool>();
      hold(self, std::move(ev), rp);
      return rp;
    },
    [=](flush_atom) {
      if (!self->state.retrying) {
        flush(self);
      }
    },
    [=](retry_atom) {
      self->state.retrying = false;
      flush(self);
    },
    [=](flush_atom, count_atom) -> std::size_t {
      flush(self);
      return self->state.held.size();
    },
    [=](tick_atom) {
      if (!self->state.retrying) { // a dead database is retried by the flush, not by this
        sign_checkpoint(self);
      }
      self->delayed_send(self, self->state.opts.checkpoint_interval, tick_atom::value);
    },
    [=](checkpoint_atom) -> bool { return sign_checkpoint(self); },
  };
}

} // namespace

std::unique_ptr<soci::session> open_audit_connection(const audit_actor_options& opts) {
  auto conn = open_database(opts.url);
  if (opts.url.dialect == sql_dialect::postgresql && opts.durability == audit_durability::commit) {
    *conn << "SET synchronous_commit = on";
  }
  return conn;
}

caf::actor spawn_audit_actor(caf::actor_system& sys, audit_actor_options opts) {
  return sys.spawn<caf::detached>(audit_actor, std::move(opts));
}

} // namespace solod
