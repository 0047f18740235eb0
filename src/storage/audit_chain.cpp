#include "storage/audit_chain.hpp"

#include "storage/audit_stats.hpp"
#include "storage/chain_rows.hpp"
#include "storage/cluster_news.hpp"
#include "storage/database.hpp"
#include "storage/write_transaction.hpp"
#include "util/hex.hpp"
#include "util/time_format.hpp"

#include <soci/soci.h>

namespace solod {

bool audit_checkpoint::signature_valid() const {
  chain_digest h{};
  return bytes_from_hex(head, h) &&
         solod::signature_valid(public_key, checkpoint_message(row_id, h, genesis_id, created_at), signature);
}

chain_row chain_row_of(const audit_event& e, std::int64_t id) {
  chain_row row;
  row.id = id;
  row.timestamp = format_iso8601(e.timestamp);
  row.user_id = e.user_id;
  row.event_type = e.event_type;
  if (!e.session_id.empty()) {
    row.session_id = e.session_id; // stored as NULL when empty
  }
  row.status = e.status;
  row.legal_basis = e.legal_basis;
  row.personal = {e.username, e.ip_address, e.user_agent, e.error_message};
  return row;
}

std::vector<chain_link> extend_chain(soci::session& sql, const std::vector<audit_event>& events) {
  const long long n = static_cast<long long>(events.size());
  long long last = 0, sequence = 0;
  std::string head;
  // One statement reserves the ids and takes the chain's lock until commit.
  // Rows someone wrote outside the chain keep their ids: the chain goes on
  // after them. On PostgreSQL the id sequence is moved past the reserved ids,
  // so an insert that takes its id from it cannot collide with them.
  const bool pg = is_postgresql(sql);
  soci::statement st(sql);
  st.exchange(soci::use(n));
  st.exchange(soci::into(last));
  st.exchange(soci::into(head));
  if (pg) {
    st.exchange(soci::into(sequence));
  }
  st.alloc();
  st.prepare(std::string("UPDATE audit_chain SET last_id = ") + (pg ? "GREATEST" : "MAX") +
             "(last_id, (SELECT COALESCE(MAX(id), 0) FROM login_logs)) + :n WHERE id = 1 RETURNING last_id, head" +
             (pg ? ", setval(pg_get_serial_sequence('login_logs', 'id'), last_id)" : ""));
  st.define_and_bind();
  st.execute(true);
  chain_digest prev{};
  if (!st.got_data() || !bytes_from_hex(head, prev)) {
    throw database_error("audit chain: its state row is missing or malformed");
  }
  std::vector<chain_link> links;
  links.reserve(events.size());
  auto keys = new_chain_keys(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    chain_link link{.id = last - n + 1 + static_cast<long long>(i), .chain_key = std::move(keys[i])};
    prev = *chain_row_hash(prev, link.chain_key, chain_row_of(events[i], link.id));
    link.row_hash = hex_of(prev);
    links.push_back(std::move(link));
  }
  sql << "UPDATE audit_chain SET head = :h WHERE id = 1", soci::use(links.back().row_hash);
  return links;
}

chain_state read_chain_state(soci::session& sql) {
  chain_state state;
  long long genesis = 0, last = 0;
  sql << "SELECT genesis_id, last_id, head FROM audit_chain WHERE id = 1", soci::into(genesis),
    soci::into(last), soci::into(state.head);
  if (!sql.got_data()) {
    throw database_error("audit chain: its state row is missing");
  }
  state.genesis_id = genesis;
  state.last_id = last;
  return state;
}

std::optional<audit_checkpoint> write_checkpoint(soci::session& sql, const audit_signing_key& key,
                                                 time_point now, bool always) {
  const auto state = read_chain_state(sql);
  chain_digest head{};
  if (state.last_id == state.genesis_id || !bytes_from_hex(state.head, head)) {
    return std::nullopt; // nothing chained yet
  }
  long long newest = 0;
  // Backwards along the row index: the newest checkpoints come first.
  sql << "SELECT row_id FROM audit_checkpoints WHERE public_key = :k ORDER BY row_id DESC LIMIT 1",
    soci::use(key.public_key()), soci::into(newest);
  if (!always && sql.got_data() && newest >= state.last_id) {
    return std::nullopt;
  }
  audit_checkpoint cp{.row_id = state.last_id, .head = state.head, .genesis_id = state.genesis_id,
                      .created_at = format_iso8601(now), .public_key = key.public_key()};
  cp.signature = key.sign(checkpoint_message(cp.row_id, head, cp.genesis_id, cp.created_at));
  long long row = cp.row_id, genesis = cp.genesis_id;
  sql << "INSERT INTO audit_checkpoints (row_id, head, genesis_id, created_at, public_key, signature) "
         "VALUES (:r, :h, :g, :c, :k, :s)",
    soci::use(row), soci::use(cp.head), soci::use(genesis), soci::use(cp.created_at), soci::use(cp.public_key),
    soci::use(cp.signature);
  return cp;
}

std::vector<audit_checkpoint> load_checkpoints(soci::session& sql) {
  std::vector<audit_checkpoint> out;
  audit_checkpoint cp;
  long long id = 0, row = 0, genesis = 0;
  soci::statement st = (sql.prepare << "SELECT id, row_id, head, genesis_id, created_at, public_key, signature "
                                       "FROM audit_checkpoints ORDER BY row_id, id",
                        soci::into(id), soci::into(row), soci::into(cp.head), soci::into(genesis),
                        soci::into(cp.created_at), soci::into(cp.public_key), soci::into(cp.signature));
  st.execute();
  while (st.fetch()) {
    cp.id = id;
    cp.row_id = row;
    cp.genesis_id = genesis;
    out.push_back(cp);
  }
  return out;
}

void seal_rows(soci::session& sql, const std::vector<std::int64_t>& ids, unsigned replaced) {
  std::vector<std::pair<long long, std::string>> sealed;
  for_each_stored_row(sql, ids, [&](const stored_row& r) {
    if (!r.chain_key) {
      return; // outside the chain: nothing to keep
    }
    if (auto key = seal_chain_key(*r.chain_key, r.row, replaced)) {
      sealed.emplace_back(r.row.id, std::move(*key));
    }
  });
  for (auto& [id, key] : sealed) {
    sql << "UPDATE login_logs SET chain_key = :k WHERE id = :i", soci::use(key), soci::use(id);
  }
}

namespace {

/// A checkpoint row made before `cutoff` chosen by `pick` (MIN or MAX) among rows `from..to`; 0 for none.
long long checkpoint_row(soci::session& sql, const char* pick, const std::string& cutoff, long long from,
                         long long to) {
  long long row = 0;
  soci::indicator ind = soci::i_null;
  sql << std::string("SELECT ") + pick + "(row_id) FROM audit_checkpoints WHERE created_at < :c AND row_id >= :f "
                                         "AND row_id <= :t",
    soci::use(cutoff), soci::use(from), soci::use(to), soci::into(row, ind);
  return ind == soci::i_ok ? row : 0;
}

} // namespace

std::size_t delete_signed_span(soci::session& sql, time_point cutoff, std::size_t max_rows) {
  const std::string c = format_iso8601(cutoff);
  const auto state = read_chain_state(sql);
  long long first = 0;
  soci::indicator ind = soci::i_null;
  long long genesis = state.genesis_id;
  sql << "SELECT MIN(id) FROM login_logs WHERE id > :g", soci::use(genesis), soci::into(first, ind);
  // Each step cuts at a checkpoint made before the cut-off, so the chain is
  // anchored after every step: the newest within `max_rows` of its start,
  // else the nearest beyond (one whole span). Rows at or below it were
  // committed before it was signed, so before the cut-off.
  long long anchor = 0;
  if (ind == soci::i_ok) {
    const long long bound = first + static_cast<long long>(max_rows) - 1;
    anchor = checkpoint_row(sql, "MAX", c, first, bound);
    if (anchor == 0) {
      anchor = checkpoint_row(sql, "MIN", c, bound + 1, state.last_id);
    }
  }
  std::size_t deleted = 0;
  write_transaction tx(sql);
  if (anchor > 0) {
    soci::statement st = (sql.prepare << "DELETE FROM login_logs WHERE id <= :a", soci::use(anchor));
    st.execute(true);
    deleted = static_cast<std::size_t>(st.get_affected_rows());
    // The anchor stays: the chain's first row left links to its head.
    sql << "DELETE FROM audit_checkpoints WHERE row_id < :a", soci::use(anchor);
  }
  if (deleted < max_rows) { // rows from before the chain began go by their time
    long long left = static_cast<long long>(max_rows - deleted);
    soci::statement outside =
      (sql.prepare << "DELETE FROM login_logs WHERE id IN (SELECT id FROM login_logs WHERE timestamp < :c "
                      "AND chain_key IS NULL ORDER BY timestamp LIMIT :n)",
       soci::use(c), soci::use(left));
    outside.execute(true);
    deleted += static_cast<std::size_t>(outside.get_affected_rows());
  }
  if (deleted > 0) {
    forget_stats_before(sql, cutoff);
  }
  tx.commit();
  return deleted;
}

} // namespace solod
