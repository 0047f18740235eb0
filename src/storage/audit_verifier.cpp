#include "storage/audit_verifier.hpp"

#include "storage/audit_chain.hpp"
#include "storage/chain_rows.hpp"
#include "storage/read_snapshot.hpp"
#include "util/hex.hpp"
#include "util/time_format.hpp"

#include <soci/soci.h>

#include <algorithm>
#include <map>
#include <set>

namespace solod {

namespace {

/// A row the chain may start after: its start, or a valid checkpoint.
struct anchor_point {
  std::int64_t row_id = 0;
  chain_digest head{};
  std::string label;
};

/// How far around a mismatched row a moved event is looked for.
constexpr std::int64_t reorder_window = 8;

class verification {
public:
  verification(soci::session& sql, const verify_options& opts) : sql_(sql), opts_(opts) {}

  chain_verdict run() {
    state_ = read_chain_state(sql_);
    load_erased_accounts();
    check_checkpoints();
    count_outside_rows();
    check_last_signed_bounds();
    auto start = choose_start();
    if (!start) {
      return verdict_;
    }
    verdict_.anchor = start->label;
    const std::int64_t end = choose_end();
    prev_ = start->head;
    expected_ = start->row_id + 1;
    verdict_.first_row = expected_;
    for_each_stored_row(sql_, expected_, end, [&](const stored_row& r) { check_row(r); });
    if (!opts_.to) {
      check_tail();
    }
    std::stable_sort(problems_.begin(), problems_.end(),
                     [](const auto& a, const auto& b) { return a.row_id < b.row_id; });
    for (auto& p : problems_) {
      if (verdict_.problems.size() < chain_verdict::max_problems) {
        verdict_.problems.push_back(std::move(p));
      } else {
        verdict_.more_problems++;
      }
    }
    return verdict_;
  }

private:
  void problem(std::int64_t row, std::string kind, std::string detail) {
    problems_.push_back({row, std::move(kind), std::move(detail)});
  }

  /// Every checkpoint's signature; valid ones become anchors and checks on the way.
  void check_checkpoints() {
    const std::set<std::string> trusted(opts_.trusted_keys.begin(), opts_.trusted_keys.end());
    for (const auto& cp : load_checkpoints(sql_)) {
      const auto where = "the checkpoint #" + std::to_string(cp.id) + " of row " + std::to_string(cp.row_id) +
                         " (" + cp.created_at + ")";
      if (!trusted.contains(cp.public_key)) {
        problem(cp.row_id, "forged checkpoint", where + " is signed by a key that is not trusted: " + cp.public_key);
      } else if (!cp.signature_valid()) {
        problem(cp.row_id, "forged checkpoint", where + " has a signature that does not verify");
      } else if (cp.genesis_id != state_.genesis_id) {
        problem(cp.row_id, "changed",
                where + " was signed with the chain beginning after row " + std::to_string(cp.genesis_id) +
                  "; the database now says after row " + std::to_string(state_.genesis_id));
      } else {
        valid_.push_back(cp);
      }
    }
  }

  void count_outside_rows() {
    long long n = 0;
    long long genesis = state_.genesis_id;
    sql_ << "SELECT COUNT(*) FROM login_logs WHERE id <= :g", soci::use(genesis), soci::into(n);
    verdict_.outside_rows = n;
    if (n > 0 && state_.genesis_id == 0) { // a chain from the first row has nothing before it
      long long first = 0;
      sql_ << "SELECT MIN(id) FROM login_logs", soci::into(first);
      problem(first, "inserted", "row " + std::to_string(first) + " lies before the chain's first row");
    }
  }

  /// The point this node signed last must still be inside the chain.
  void check_last_signed_bounds() {
    if (!opts_.last_signed) {
      return;
    }
    const auto l = opts_.last_signed->row_id;
    if (l > state_.last_id) {
      problem(state_.last_id + 1, "deleted",
              "this node signed row " + std::to_string(l) + " last, and the chain now ends at row " +
                std::to_string(state_.last_id));
    } else if (l <= state_.genesis_id) {
      problem(l, "changed",
              "this node signed row " + std::to_string(l) + " last, and the chain now begins after row " +
                std::to_string(state_.genesis_id) + ": its start was moved");
    }
  }

  void load_erased_accounts() {
    long long id = 0;
    std::string pseudonym;
    soci::statement st = (sql_.prepare << "SELECT id, username FROM users WHERE erased_at IS NOT NULL",
                          soci::into(id), soci::into(pseudonym));
    st.execute();
    while (st.fetch()) {
      erased_.emplace(id, pseudonym);
      pseudonyms_.insert(pseudonym);
    }
  }

  /// A sealed row must be one an erasure sealed: the replaced fields hold
  /// nothing or an erased account's pseudonym (else anyone could "seal" a
  /// row and then edit it).
  std::optional<std::string> sealing_fault(const stored_row& r) const {
    const auto mask = replaced_fields(*r.chain_key);
    if (mask == 0) {
      return std::nullopt;
    }
    const auto& p = r.row.personal;
    if (mask & erased_fields) {
      const auto it = r.row.user_id ? erased_.find(*r.row.user_id) : erased_.end();
      const std::string pseudonym = it != erased_.end() ? it->second : p[0];
      if (!pseudonyms_.contains(pseudonym)) {
        return "is sealed as erased, but names no erased account";
      }
      for (auto f : {personal_field::username, personal_field::ip_address, personal_field::user_agent}) {
        const auto& v = p[static_cast<std::size_t>(f)];
        if ((mask & field_bit(f)) && !v.empty() && v != pseudonym) {
          return "is sealed as erased, but holds something other than the pseudonym " + pseudonym;
        }
      }
    }
    if ((mask & field_bit(personal_field::detail)) &&
        (r.row.event_type != "admin_action" ||
         std::none_of(pseudonyms_.begin(), pseudonyms_.end(),
                      [&](const std::string& name) { return p[3].find(name) != std::string::npos; }))) {
      return std::string("has its detail sealed, but it is no admin action naming an erased account");
    }
    return std::nullopt;
  }

  static anchor_point anchor_of(const audit_checkpoint& cp) {
    anchor_point a{.row_id = cp.row_id, .label = "the checkpoint of row " + std::to_string(cp.row_id) +
                                                 " signed at " + cp.created_at};
    bytes_from_hex(cp.head, a.head);
    return a;
  }

  /// The chain's first row left must follow its start or a valid checkpoint
  /// (retention deletes only whole signed spans); with --from, the newest
  /// valid checkpoint made before it.
  std::optional<anchor_point> choose_start() {
    long long first = 0;
    soci::indicator ind = soci::i_null;
    long long genesis = state_.genesis_id;
    sql_ << "SELECT MIN(id) FROM login_logs WHERE id > :g", soci::use(genesis), soci::into(first, ind);
    const std::int64_t first_row = ind == soci::i_ok ? first : state_.last_id + 1;
    if (opts_.from) {
      const auto from = format_iso8601(*opts_.from);
      const audit_checkpoint* best = nullptr;
      for (const auto& cp : valid_) {
        if (cp.created_at < from && cp.row_id >= first_row - 1 && (!best || cp.row_id > best->row_id)) {
          best = &cp;
        }
      }
      if (best) {
        return anchor_of(*best);
      }
    }
    if (first_row - 1 == state_.genesis_id) {
      return anchor_point{.row_id = state_.genesis_id, .head = chain_genesis, .label = "the chain's start"};
    }
    for (const auto& cp : valid_) {
      if (cp.row_id == first_row - 1) {
        return anchor_of(cp);
      }
    }
    // Rows are gone below the first one left, and no signed checkpoint
    // anchors it: not a retention cut. Resynchronize on that row.
    std::int64_t below = state_.genesis_id;
    for (const auto& cp : valid_) {
      if (cp.row_id < first_row) {
        below = std::max(below, cp.row_id);
      }
    }
    problem(below + 1, "deleted",
            "rows " + std::to_string(below + 1) + " to " + std::to_string(first_row - 1) +
              " are missing, and no signed checkpoint anchors the chain at row " + std::to_string(first_row - 1));
    resync_ = true;
    return anchor_point{.row_id = first_row - 1, .label = "row " + std::to_string(first_row) + " (unanchored)"};
  }

  std::int64_t choose_end() {
    if (opts_.to) {
      const auto to = format_iso8601(*opts_.to);
      for (const auto& cp : valid_) { // by row: the first made at or after `to`
        if (cp.created_at >= to) {
          return cp.row_id;
        }
      }
    }
    long long last = 0;
    soci::indicator ind = soci::i_null;
    sql_ << "SELECT MAX(id) FROM login_logs", soci::into(last, ind);
    return std::max<std::int64_t>(ind == soci::i_ok ? last : 0, state_.last_id);
  }

  void check_row(const stored_row& r) {
    const auto id = r.row.id;
    verdict_.rows++;
    verdict_.last_row = id;
    if (id > expected_) {
      problem(expected_, "deleted",
              id == expected_ + 1 ? "row " + std::to_string(expected_) + " is missing"
                                  : "rows " + std::to_string(expected_) + " to " + std::to_string(id - 1) +
                                      " are missing");
      resync_ = true;
    }
    expected_ = id + 1;
    if (!r.chain_key || !r.row_hash || id > state_.last_id) {
      problem(id, "inserted",
              id > state_.last_id ? "row " + std::to_string(id) + " lies beyond the chain's last row " +
                                      std::to_string(state_.last_id)
                                  : "row " + std::to_string(id) + " was written outside the chain (no hash)");
      return; // the chain goes on from the row before it
    }
    chain_digest stored{};
    const bool stored_ok = bytes_from_hex(*r.row_hash, stored);
    const auto computed = chain_row_hash(prev_, *r.chain_key, r.row);
    bool matches = computed && stored_ok && *computed == stored;
    if (auto fault = sealing_fault(r)) {
      problem(id, "changed", "row " + std::to_string(id) + " " + *fault);
    }
    if (opts_.last_signed && opts_.last_signed->row_id == id && *r.row_hash != opts_.last_signed->head) {
      problem(id, "changed",
              "row " + std::to_string(id) + " no longer has the hash this node signed last: rows up to it "
              "were rewritten and the newer checkpoints removed");
    }
    if (resync_) {
      resync_ = false; // its predecessor is unknown: take its word, check from here on
      matches = true;
    } else if (!matches && !follows_moved_row(r, stored)) {
      classify_mismatch(r);
      last_problem_ = id;
    }
    // After a mismatch, go on from the hash the row says it has: each later
    // row is judged on its own, not on what was wrong before it.
    prev_ = stored_ok ? stored : computed.value_or(chain_digest{});
    recent_.push_back(prev_);
    if (recent_.size() > 2 * reorder_window) {
      recent_.erase(recent_.begin());
    }
    if (matches) {
      check_checkpoints_at(id);
    }
  }

  /// Just after rows were moved, a row's true predecessor is stored a few
  /// rows away: it matches one of them, and was not itself changed.
  bool follows_moved_row(const stored_row& r, const chain_digest& stored) const {
    if (last_problem_ == 0 || r.row.id - last_problem_ > reorder_window) {
      return false;
    }
    const auto commitments = personal_commitments(*r.chain_key, r.row);
    if (!commitments) {
      return false;
    }
    const auto content = content_digest(r.row, *commitments);
    return std::any_of(recent_.begin(), recent_.end(), [&](const chain_digest& p) {
      return row_hash(p, r.row.id, r.row.timestamp, r.row.user_id, content) == stored;
    });
  }

  /// A row whose hash does not match: moved (its content hashes into the chain
  /// at another place nearby), or changed.
  void classify_mismatch(const stored_row& r) {
    const auto id = r.row.id;
    if (problems_.size() < chain_verdict::max_problems && r.chain_key) {
      if (auto at = moved_from(r)) {
        problem(id, "reordered",
                "row " + std::to_string(id) + " holds the event chained as row " + std::to_string(*at));
        return;
      }
    }
    problem(id, "changed",
            "row " + std::to_string(id) + " does not match its hash in the chain (its fields were changed, "
            "or the row before it was rewritten with a new hash)");
  }

  std::optional<std::int64_t> moved_from(const stored_row& r) {
    const auto commitments = personal_commitments(*r.chain_key, r.row);
    if (!commitments) {
      return std::nullopt;
    }
    const auto content = content_digest(r.row, *commitments);
    std::vector<chain_digest> hashes{chain_genesis};
    for_each_stored_row(sql_, r.row.id - reorder_window, r.row.id + reorder_window, [&](const stored_row& n) {
      chain_digest h{};
      if (n.row_hash && bytes_from_hex(*n.row_hash, h)) {
        hashes.push_back(h);
      }
    });
    for (auto j = r.row.id - reorder_window; j <= r.row.id + reorder_window; ++j) {
      if (j == r.row.id) {
        continue;
      }
      for (const auto& p : hashes) {
        const auto h = row_hash(p, j, r.row.timestamp, r.row.user_id, content);
        if (std::find(hashes.begin(), hashes.end(), h) != hashes.end()) {
          return j;
        }
      }
    }
    return std::nullopt;
  }

  void check_checkpoints_at(std::int64_t id) {
    for (const auto& cp : valid_) {
      if (cp.row_id != id) {
        continue;
      }
      verdict_.checkpoints++;
      verdict_.signed_up_to = std::max(verdict_.signed_up_to, id);
      if (cp.head != hex_of(prev_)) {
        problem(id, "changed",
                "the chain up to row " + std::to_string(id) + " differs from the checkpoint signed at " +
                  cp.created_at + ": rows up to it were rewritten");
      }
    }
  }

  /// The chain's state row names its last row and head: rows cut off the end show there.
  void check_tail() {
    const auto last_seen = expected_ - 1;
    if (last_seen < state_.last_id) {
      problem(last_seen + 1, "deleted",
              "rows " + std::to_string(last_seen + 1) + " to " + std::to_string(state_.last_id) +
                " at the end of the chain are missing");
    } else if (last_seen == state_.last_id && state_.last_id > state_.genesis_id &&
               hex_of(prev_) != state_.head) {
      problem(last_seen, "changed", "the chain's last row " + std::to_string(last_seen) +
                                      " does not match the head the chain recorded");
    }
    for (const auto& cp : valid_) {
      if (cp.row_id > state_.last_id) {
        problem(state_.last_id + 1, "deleted",
                "a signed checkpoint names row " + std::to_string(cp.row_id) + ", beyond the chain's last row " +
                  std::to_string(state_.last_id));
        break;
      }
    }
  }

  soci::session& sql_;
  const verify_options& opts_;
  chain_state state_;
  std::vector<audit_checkpoint> valid_;
  std::vector<chain_problem> problems_;
  chain_verdict verdict_;
  chain_digest prev_{};
  std::int64_t expected_ = 0;
  bool resync_ = false;
  std::int64_t last_problem_ = 0;    ///< the last row found changed or moved
  std::map<std::int64_t, std::string> erased_; ///< erased accounts: id, pseudonym
  std::set<std::string> pseudonyms_;
  std::vector<chain_digest> recent_; ///< the stored hashes of the last rows read
};

} // namespace

chain_verdict verify_audit_chain(soci::session& sql, const verify_options& opts) {
  // One snapshot: batches committed while the chain is read must not look
  // like rows beyond its end.
  read_snapshot snapshot(sql);
  return verification(sql, opts).run();
}

} // namespace solod
