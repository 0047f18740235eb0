#include "storage/proof_check.hpp"

#include "storage/audit_chain.hpp"
#include "storage/proof_records.hpp"
#include "util/hex.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

namespace solod {

namespace {

std::optional<std::int64_t> number(const std::string& text) {
  std::int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || ptr != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return n;
}

report_verdict broken(const std::string& why) {
  return {false, why};
}

class report_check {
public:
  report_check(const std::vector<proof_record>& records, bool json, const std::vector<std::string>& keys)
    : records_(records), json_(json), keys_(keys) {}

  report_verdict run() {
    if (records_.size() < 4 || records_[0].kind != "range" || records_[1].kind != "anchor" ||
        records_[records_.size() - 2].kind != "checkpoint" || records_.back().kind != "signature") {
      return broken("the report does not open with its range and anchor and close with a checkpoint and "
                    "its signature");
    }
    if (auto why = check_report_signature()) {
      return broken(*why);
    }
    const auto& range = records_[0];
    if (range.event_type != proof_format_name) {
      return broken("the report's format is '" + range.event_type + "', not " + std::string(proof_format_name));
    }
    if (!range.user_id.empty() && !number(range.user_id)) {
      return broken("the range's account is not a number");
    }
    if (auto why = check_anchor(records_[1], range, records_[records_.size() - 2])) {
      return broken(*why);
    }
    for (std::size_t i = 2; i + 2 < records_.size(); ++i) {
      if (auto why = check_row(records_[i], range)) {
        return broken("record " + std::to_string(i + 1) + " (row " + records_[i].id + "): " + *why);
      }
    }
    const auto& end = records_[records_.size() - 2];
    if (auto why = check_signed(end, "the closing checkpoint")) {
      return broken(*why);
    }
    if (number(end.id) != expected_ - 1 || end.row_hash != hex_of(prev_)) {
      return broken("the closing checkpoint of row " + end.id + " does not match the chain of the rows before it");
    }
    if (!range.range_to.empty() && end.timestamp < range.range_to) {
      return broken("the closing checkpoint was made at " + end.timestamp + ", before the range ends (" +
                    range.range_to + "): rows written later are not covered");
    }
    return {true, summary(range, end)};
  }

private:
  std::optional<std::string> check_signed(const proof_record& r, const std::string& what) {
    if (std::find(keys_.begin(), keys_.end(), r.public_key) == keys_.end()) {
      return what + " is signed by a key that is not trusted: " + r.public_key;
    }
    const auto row = number(r.id);
    const auto genesis = number(r.genesis_id);
    audit_checkpoint cp{.row_id = row.value_or(0), .head = r.row_hash, .genesis_id = genesis.value_or(0),
                        .created_at = r.timestamp, .public_key = r.public_key, .signature = r.signature};
    if (!row || !genesis || !cp.signature_valid()) {
      return what + "'s signature does not verify";
    }
    return std::nullopt;
  }

  /// The signature over every byte before it: the range and every record as written.
  std::optional<std::string> check_report_signature() {
    const auto& sig = records_.back();
    proof_record bare{.kind = "signature"};
    bare.public_key = sig.public_key;
    bare.signature = sig.signature;
    if (proof_csv_line(bare) != proof_csv_line(sig)) {
      return std::string("the report's signature record holds more than its key and signature");
    }
    if (std::find(keys_.begin(), keys_.end(), sig.public_key) == keys_.end()) {
      return "the report is signed by a key that is not trusted: " + sig.public_key;
    }
    stream_digest d;
    d.add(render_proof_report(records_, records_.size() - 1, json_, false));
    if (!signature_valid(sig.public_key, report_message(d.finish()), sig.signature)) {
      return std::string("the report's signature does not verify: it was changed after it was written");
    }
    return std::nullopt;
  }

  std::optional<std::string> check_anchor(const proof_record& a, const proof_record& range,
                                          const proof_record& end) {
    const auto row = number(a.id);
    if (!row || !bytes_from_hex(a.row_hash, prev_)) {
      return "the anchor is malformed";
    }
    expected_ = *row + 1;
    if (a.genesis_id != end.genesis_id) {
      return "the anchor and the closing checkpoint disagree on where the chain began";
    }
    if (a.signature.empty() && a.public_key.empty() && a.timestamp.empty()) {
      // The chain's start, which the closing checkpoint signs (genesis_id).
      if (prev_ != chain_genesis || a.id != a.genesis_id) {
        return "an unsigned anchor must be the chain's start";
      }
      start_ = "the chain's start (after row " + a.id + ")";
      return std::nullopt;
    }
    if (auto why = check_signed(a, "the anchor")) {
      return why;
    }
    if (!range.range_from.empty() && !(a.timestamp < range.range_from)) {
      return "the anchor was made at " + a.timestamp + ", not before the range begins (" + range.range_from + ")";
    }
    start_ = "the checkpoint of row " + a.id + " made at " + a.timestamp;
    return std::nullopt;
  }

  bool in_scope(const proof_record& r, const proof_record& range) const {
    return (range.range_from.empty() || r.timestamp >= range.range_from) &&
           (range.range_to.empty() || r.timestamp < range.range_to) &&
           (range.user_id.empty() || r.user_id == range.user_id);
  }

  std::optional<std::string> check_row(const proof_record& r, const proof_record& range) {
    const auto id = number(r.id);
    if (!id || *id != expected_) {
      return "expected row " + std::to_string(expected_) + ": a row is missing, added or out of order";
    }
    const std::optional<std::int64_t> user = r.user_id.empty() ? std::nullopt : number(r.user_id);
    if (!r.user_id.empty() && !user) {
      return std::string("its account is not a number");
    }
    chain_digest content{};
    if (r.kind == "event") {
      if (!in_scope(r, range)) {
        return std::string("a row outside the range or account is given in full");
      }
      chain_row row{.id = *id, .timestamp = r.timestamp, .user_id = user, .event_type = r.event_type,
                    .session_id = r.session_id.empty() ? std::nullopt : std::optional<std::string>(r.session_id),
                    .status = r.status, .legal_basis = r.legal_basis,
                    .personal = {r.username, r.ip_address, r.user_agent, r.error_message}};
      const auto commitments = personal_commitments(r.chain_key, row);
      if (!commitments) {
        return std::string("its chain key is malformed");
      }
      content = content_digest(row, *commitments);
      events_++;
    } else if (r.kind == "omitted") {
      if (in_scope(r, range)) {
        return std::string("a row in the range and account is left out");
      }
      if (!bytes_from_hex(r.content_digest, content)) {
        return std::string("its content digest is malformed");
      }
    } else {
      return "a '" + r.kind + "' record in the middle of the rows";
    }
    const auto h = row_hash(prev_, *id, r.timestamp, user, content);
    if (hex_of(h) != r.row_hash) {
      return std::string("its fields do not give its hash: it was changed");
    }
    prev_ = h;
    expected_ = *id + 1;
    rows_++;
    return std::nullopt;
  }

  std::string summary(const proof_record& range, const proof_record& end) const {
    return "report intact: " + std::to_string(events_) + " events in scope of " + std::to_string(rows_) +
           " rows chained from " + start_ + " to row " + end.id + ", signed at " + end.timestamp + " by " +
           end.public_key + "; range " + (range.range_from.empty() ? "(start)" : range.range_from) + " to " +
           (range.range_to.empty() ? "(end)" : range.range_to) +
           (range.user_id.empty() ? ", every account" : ", account " + range.user_id + " (" + range.username + ")");
  }

  const std::vector<proof_record>& records_;
  bool json_;
  const std::vector<std::string>& keys_;
  chain_digest prev_{};
  std::int64_t expected_ = 0;
  std::size_t events_ = 0, rows_ = 0;
  std::string start_;
};

} // namespace

report_verdict check_proof_report(std::string_view text, const std::vector<std::string>& trusted_keys) {
  auto parsed = parse_proof_report(text);
  if (!parsed.error.empty()) {
    return broken("the report cannot be read as solod wrote it: " + parsed.error);
  }
  return report_check(parsed.records, parsed.json, trusted_keys).run();
}

} // namespace solod
