#include "storage/audit_proof.hpp"

#include "storage/audit_chain.hpp"
#include "storage/chain_rows.hpp"
#include "util/hex.hpp"
#include "util/time_format.hpp"

#include <soci/soci.h>

namespace solod {

namespace {

proof_record checkpoint_record(const char* kind, const audit_checkpoint& cp) {
  proof_record r{.kind = kind};
  r.id = std::to_string(cp.row_id);
  r.timestamp = cp.created_at;
  r.row_hash = cp.head;
  r.genesis_id = std::to_string(cp.genesis_id);
  r.public_key = cp.public_key;
  r.signature = cp.signature;
  return r;
}

/// The newest checkpoint matching `condition` (bound to `value`), if any.
std::optional<audit_checkpoint> newest_checkpoint(soci::session& sql, const std::string& condition,
                                                  const std::string& value, std::int64_t at_most_row) {
  audit_checkpoint cp;
  long long id = 0, row = 0, limit = at_most_row;
  sql << "SELECT id, row_id, head, created_at, public_key, signature FROM audit_checkpoints WHERE " + condition +
           " AND row_id <= :r ORDER BY row_id DESC, id DESC LIMIT 1",
    soci::use(value), soci::use(limit), soci::into(id), soci::into(row), soci::into(cp.head),
    soci::into(cp.created_at), soci::into(cp.public_key), soci::into(cp.signature);
  if (!sql.got_data()) {
    return std::nullopt;
  }
  cp.id = id;
  cp.row_id = row;
  return cp;
}

proof_record event_record(const stored_row& s) {
  const auto& row = s.row;
  proof_record r{.kind = "event"};
  r.id = std::to_string(row.id);
  r.timestamp = row.timestamp;
  r.event_type = row.event_type;
  r.user_id = row.user_id ? std::to_string(*row.user_id) : "";
  r.username = row.personal[0];
  r.session_id = row.session_id.value_or("");
  r.ip_address = row.personal[1];
  r.user_agent = row.personal[2];
  r.status = row.status;
  r.error_message = row.personal[3];
  r.legal_basis = row.legal_basis;
  r.chain_key = s.chain_key.value_or("");
  r.row_hash = s.row_hash.value_or("");
  return r;
}

proof_record omitted_record(const stored_row& s) {
  proof_record r{.kind = "omitted"};
  r.id = std::to_string(s.row.id);
  r.timestamp = s.row.timestamp;
  r.user_id = s.row.user_id ? std::to_string(*s.row.user_id) : "";
  if (s.chain_key) {
    if (auto c = personal_commitments(*s.chain_key, s.row)) {
      r.content_digest = hex_of(content_digest(s.row, *c));
    }
  }
  r.row_hash = s.row_hash.value_or("");
  return r;
}

} // namespace

std::string proof_report_writer::line(const proof_record& r) {
  std::string out;
  if (!json_) {
    out = proof_csv_line(r);
  } else {
    out = (first_ ? "" : std::string(proof_json_separator)) + proof_json_line(r);
    first_ = false;
  }
  digest_.add(out);
  return out;
}

std::string proof_report_writer::begin(soci::session& sql, checkpoint_signer& signer, time_point now) {
  const auto& key = signer.key();
  if (!scope_.username.empty()) {
    long long id = 0;
    sql << "SELECT id FROM users WHERE lower(username) = lower(:n)", soci::use(scope_.username), soci::into(id);
    if (!sql.got_data()) {
      throw proof_error("no account is named '" + scope_.username + "'");
    }
    user_id_ = id;
  }
  from_ = scope_.from ? format_iso8601(*scope_.from) : "";
  to_ = scope_.to ? format_iso8601(*scope_.to) : "";
  const auto state = read_chain_state(sql);
  // Always a fresh one: the report covers every row committed until now.
  const auto end = signer.sign(sql, now, true);
  if (!end) {
    throw proof_error("the audit log has no chained rows yet: nothing to prove");
  }
  end_ = checkpoint_record("checkpoint", *end);

  long long first = 0, genesis = state.genesis_id;
  soci::indicator ind = soci::i_null;
  sql << "SELECT MIN(id) FROM login_logs WHERE id > :g", soci::use(genesis), soci::into(first, ind);
  const std::int64_t first_row = ind == soci::i_ok ? first : end->row_id + 1;
  std::optional<audit_checkpoint> anchor;
  if (scope_.from) { // the newest own checkpoint made before the range: rows below it were written before
    anchor = newest_checkpoint(sql, "public_key = :k AND created_at < '" + from_ + "'", key.public_key(),
                               end->row_id);
    if (anchor && anchor->row_id < first_row - 1) {
      anchor.reset();
    }
  }
  proof_record anchor_record{.kind = "anchor"};
  if (anchor) {
    anchor_record = checkpoint_record("anchor", *anchor);
  } else if (first_row - 1 == state.genesis_id) {
    anchor_record.id = std::to_string(state.genesis_id);
    anchor_record.genesis_id = anchor_record.id;
    anchor_record.row_hash = hex_of(chain_genesis);
  } else if (auto cut = newest_checkpoint(sql, "row_id >= :v", std::to_string(first_row - 1), first_row - 1)) {
    anchor_record = checkpoint_record("anchor", *cut); // retention's anchor, maybe another node's key
  } else {
    throw proof_error("the chain's first rows are missing with no checkpoint to anchor it: run solod audit verify");
  }
  next_id_ = std::stoll(anchor_record.id) + 1;

  proof_record range{.kind = "range"};
  range.event_type = std::string(proof_format_name);
  range.range_from = from_;
  range.range_to = to_;
  range.user_id = user_id_ ? std::to_string(*user_id_) : "";
  range.username = scope_.username;
  key_ = &key;
  std::string out = json_ ? std::string(proof_json_open) : proof_csv_header();
  digest_.add(out);
  out += line(range);
  out += line(anchor_record);
  return out;
}

bool proof_report_writer::next(soci::session& sql, std::string& chunk, std::size_t rows) {
  const auto end_row = std::stoll(end_.id);
  if (next_id_ <= end_row) {
    const auto last = std::min<std::int64_t>(end_row, next_id_ + static_cast<std::int64_t>(rows) - 1);
    for_each_stored_row(sql, next_id_, last, [&](const stored_row& s) {
      const bool in_range = (from_.empty() || s.row.timestamp >= from_) && (to_.empty() || s.row.timestamp < to_);
      const bool in_scope = in_range && (!user_id_ || s.row.user_id == user_id_);
      chunk += line(in_scope ? event_record(s) : omitted_record(s));
    });
    next_id_ = last + 1;
    if (next_id_ <= end_row) {
      return true;
    }
  }
  chunk += line(end_);
  proof_record signature{.kind = "signature"};
  signature.public_key = key_->public_key();
  // Signed: every byte before this record (render_proof_report's prefix).
  signature.signature = key_->sign(report_message(digest_.finish()));
  chunk += json_ ? std::string(proof_json_separator) + proof_json_line(signature) : proof_csv_line(signature);
  if (json_) {
    chunk += proof_json_close;
  }
  return false;
}

} // namespace solod
