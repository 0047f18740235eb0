#include "actors/retention_actor.hpp"

#include "actors/messages.hpp"
#include "storage/audit_stats.hpp"
#include "storage/db_pool.hpp"
#include "storage/login_log_repository.hpp"
#include "storage/session_repository.hpp"
#include "util/clock.hpp"
#include "util/saturating_time.hpp"
#include "util/time_format.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

namespace solod {

namespace {

struct retention_state {
  static inline const char* name = "retention";
  retention_options opts;
  std::size_t deleted_this_sweep = 0;
  std::size_t anonymised_this_sweep = 0;
};

using retention_self = caf::stateful_actor<retention_state>;

void sweep(retention_self* self) {
  auto& opts = self->state.opts;
  // Saturating: a retention too long for the clock means "keep everything",
  // never a cut-off that wrapped into the future. Nothing is older than 1970.
  auto keep = std::chrono::hours{24} * static_cast<std::int64_t>(opts.retention_days);
  auto cutoff = std::max(time_point{}, sub_saturating(opts.clk->now(), keep));
  auto me = caf::actor_cast<caf::actor>(self);
  auto batch = opts.batch_rows;
  bool queued = opts.db->try_submit(
    [me, cutoff, batch](soci::session& sql) {
      auto deleted = login_log_repository(sql).delete_older_than(cutoff, batch);
      auto anonymised = session_repository(sql).anonymise_older_than(cutoff, batch);
      caf::anon_send(me, swept_atom::value, deleted, anonymised);
    },
    [me](const std::string& what) {
      spdlog::warn("retention: sweep failed, will retry: {}", what);
      caf::anon_send(me, swept_atom::value, std::size_t{0}, std::size_t{0});
    });
  if (!queued) {
    self->delayed_send(self, std::chrono::seconds(1), sweep_atom::value);
  }
}

/// Fills the statistics cache with the hours closed since the last sweep, so
/// the dashboard's first look at the last month reads only cached hours.
void warm_stats(const retention_options& opts) {
  if (opts.stats_warm_days <= 0) {
    return;
  }
  const auto now = opts.clk->now();
  const auto from = now - std::chrono::hours{24} * opts.stats_warm_days;
  opts.db->try_submit(
    [from, now](soci::session& sql) {
      audit_stats(sql).report(from, now, stats_bucket::day, now);
      analyze_stats_cache(sql);
    },
    [](const std::string& what) { spdlog::warn("retention: statistics cache not filled: {}", what); });
}

caf::behavior retention_actor(retention_self* self, retention_options opts) {
  self->state.opts = opts;
  self->send(self, sweep_atom::value);
  return {
    [=](sweep_atom) { sweep(self); },
    [=](swept_atom, std::size_t deleted, std::size_t anonymised) {
      auto& st = self->state;
      if (st.opts.on_batch) {
        st.opts.on_batch(deleted, anonymised);
      }
      st.deleted_this_sweep += deleted;
      st.anonymised_this_sweep += anonymised;
      // Audit rows go in whole signed spans, seldom exactly a batch: go on while any went.
      if (deleted > 0 || anonymised == st.opts.batch_rows) {
        self->delayed_send(self, st.opts.pause, sweep_atom::value);
        return;
      }
      if (st.deleted_this_sweep + st.anonymised_this_sweep > 0) {
        spdlog::info("retention: deleted {} audit rows, anonymised {} sessions older than {} days",
                     st.deleted_this_sweep, st.anonymised_this_sweep, st.opts.retention_days);
      }
      st.deleted_this_sweep = 0;
      st.anonymised_this_sweep = 0;
      warm_stats(st.opts);
      self->delayed_send(self, st.opts.period, sweep_atom::value);
    },
  };
}

} // namespace

caf::actor spawn_retention_actor(caf::actor_system& sys, retention_options opts) {
  return sys.spawn(retention_actor, opts);
}

} // namespace solod
