#include "storage/checkpoint_signer.hpp"

#include "storage/chain_rows.hpp"
#include "util/hex.hpp"

#include <soci/soci.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace solod {

std::optional<signed_point> read_signed_point(const std::string& path) {
  std::ifstream in(path);
  signed_point p;
  chain_digest d{};
  if (!(in >> p.row_id >> p.head) || !bytes_from_hex(p.head, d)) {
    return std::nullopt;
  }
  return p;
}

std::string signed_point_path(const std::string& key_path) {
  return key_path + ".last";
}

checkpoint_signer::checkpoint_signer(audit_signing_key key, const std::string& key_path)
  : key_(std::move(key)), memory_path_(signed_point_path(key_path)) {}

std::optional<audit_checkpoint> checkpoint_signer::sign(soci::session& sql, time_point now, bool always) {
  std::lock_guard lock(mutex_);
  const auto state = read_chain_state(sql);
  if (auto last = read_signed_point(memory_path_)) {
    check_extends(sql, *last, state);
  }
  auto cp = write_checkpoint(sql, key_, now, always);
  if (cp) {
    remember(*cp);
  }
  return cp;
}

void checkpoint_signer::check_extends(soci::session& sql, const signed_point& last, const chain_state& state) const {
  const auto where = " than row " + std::to_string(last.row_id) + ", which this key signed last";
  if (state.last_id < last.row_id) {
    throw chain_break("the audit chain ends at row " + std::to_string(state.last_id) + ", earlier" + where);
  }
  if (state.genesis_id >= last.row_id) {
    throw chain_break("the audit chain's start was moved to row " + std::to_string(state.genesis_id) +
                      ", later" + where);
  }
  chain_digest prev{};
  bytes_from_hex(last.head, prev);
  std::int64_t expected = last.row_id + 1; // row L itself may be gone: retention keeps it only as an anchor
  std::string broken;
  for_each_stored_row(sql, last.row_id, state.last_id, [&](const stored_row& r) {
    if (!broken.empty() || !r.chain_key || !r.row_hash) {
      return; // a row outside the chain: verify names it
    }
    if (r.row.id == last.row_id) {
      if (*r.row_hash != last.head) {
        broken = "row " + std::to_string(r.row.id) + " no longer has the hash this key signed";
      }
      expected = r.row.id + 1;
      return;
    }
    if (r.row.id != expected) {
      broken = "rows " + std::to_string(expected) + " to " + std::to_string(r.row.id - 1) + " are missing";
      return;
    }
    const auto h = chain_row_hash(prev, *r.chain_key, r.row);
    if (!h || hex_of(*h) != *r.row_hash) {
      broken = "row " + std::to_string(r.row.id) + " does not chain on from row " + std::to_string(last.row_id);
      return;
    }
    prev = *h;
    expected = r.row.id + 1;
  });
  if (broken.empty() && expected - 1 == state.last_id && hex_of(prev) != state.head &&
      state.last_id != last.row_id) {
    broken = "the chain's recorded head is not its last row's hash";
  }
  if (!broken.empty()) {
    throw chain_break("audit chain rewritten since this key's last checkpoint (row " +
                      std::to_string(last.row_id) + "): " + broken + "; not signing");
  }
}

void checkpoint_signer::remember(const audit_checkpoint& cp) {
  // Rename: another process (the CLI) reading it sees the old point or the new, never half.
  const auto tmp = memory_path_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << cp.row_id << " " << cp.head << "\n";
    if (!out.flush()) {
      return; // the database holds the checkpoint; the memory is a safeguard
    }
  }
  std::rename(tmp.c_str(), memory_path_.c_str());
}

} // namespace solod
