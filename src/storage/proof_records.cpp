#include "storage/proof_records.hpp"

#include "util/csv.hpp"
#include "util/csv_reader.hpp"
#include "util/json_text.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <charconv>

namespace solod {

namespace {

/// The CSV columns, in order, and the member each one is.
constexpr std::array<std::pair<const char*, std::string proof_record::*>, 20> columns{{
  {"record", &proof_record::kind},
  {"id", &proof_record::id},
  {"timestamp", &proof_record::timestamp},
  {"event_type", &proof_record::event_type},
  {"user_id", &proof_record::user_id},
  {"username", &proof_record::username},
  {"session_id", &proof_record::session_id},
  {"ip_address", &proof_record::ip_address},
  {"user_agent", &proof_record::user_agent},
  {"status", &proof_record::status},
  {"error_message", &proof_record::error_message},
  {"legal_basis", &proof_record::legal_basis},
  {"chain_key", &proof_record::chain_key},
  {"content_digest", &proof_record::content_digest},
  {"row_hash", &proof_record::row_hash},
  {"public_key", &proof_record::public_key},
  {"signature", &proof_record::signature},
  {"range_from", &proof_record::range_from},
  {"range_to", &proof_record::range_to},
  {"genesis_id", &proof_record::genesis_id},
}};

/// The JSON keys of each kind, besides "record".
const std::vector<std::string>& json_keys(const std::string& kind) {
  static const std::vector<std::string> range{"format", "range_from", "range_to", "user_id", "username"};
  static const std::vector<std::string> anchor{"id", "row_hash", "genesis_id", "timestamp", "public_key",
                                               "signature"};
  static const std::vector<std::string> event{"id",         "timestamp",  "event_type",    "user_id",
                                              "username",   "session_id", "ip_address",    "user_agent",
                                              "status",     "error_message", "legal_basis", "chain_key",
                                              "row_hash"};
  static const std::vector<std::string> omitted{"id", "timestamp", "user_id", "content_digest", "row_hash"};
  static const std::vector<std::string> signature{"public_key", "signature"};
  static const std::vector<std::string> none;
  if (kind == "range") {
    return range;
  }
  if (kind == "anchor" || kind == "checkpoint") {
    return anchor;
  }
  if (kind == "event") {
    return event;
  }
  if (kind == "signature") {
    return signature;
  }
  return kind == "omitted" ? omitted : none;
}

std::string proof_record::*member(const std::string& key) {
  if (key == "format") {
    return &proof_record::event_type;
  }
  for (const auto& [name, m] : columns) {
    if (key == name) {
      return m;
    }
  }
  return nullptr;
}

/// Keys whose JSON value is a number (or null when empty).
bool numeric(const std::string& key) {
  return key == "id" || key == "user_id" || key == "genesis_id";
}

std::string proof_field(const std::string& value) {
  return csv_field(!value.empty() && value[0] == '\'' ? "'" + value : value);
}

std::string unescape_field(std::string value) {
  if (!value.empty() && value[0] == '\'') {
    value.erase(0, 1);
  }
  return value;
}

parsed_report parse_json(std::string_view text) {
  parsed_report out;
  auto doc = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_array()) {
    out.error = "not a JSON array";
    return out;
  }
  for (const auto& item : doc) {
    if (!item.is_object() || !item.contains("record") || !item["record"].is_string()) {
      out.error = "a record without its kind";
      return out;
    }
    proof_record r;
    r.kind = item["record"].get<std::string>();
    for (const auto& key : json_keys(r.kind)) {
      const auto it = item.find(key);
      if (it == item.end()) {
        out.error = "a " + r.kind + " record without \"" + key + "\"";
        return out;
      }
      auto& field = r.*member(key);
      if (it->is_string()) {
        field = it->get<std::string>();
      } else if (it->is_number_integer()) {
        field = std::to_string(it->get<std::int64_t>());
      } else if (!it->is_null()) {
        out.error = "\"" + key + "\" of a " + r.kind + " record is neither text nor a whole number";
        return out;
      }
    }
    out.records.push_back(std::move(r));
  }
  return out;
}

parsed_report parse_csv_report(std::string_view text) {
  parsed_report out;
  auto doc = parse_csv(text);
  if (!doc.error.empty()) {
    out.error = "CSV line " + std::to_string(doc.error_line) + ": " + doc.error;
    return out;
  }
  if (doc.records.empty()) {
    out.error = "empty";
    return out;
  }
  for (std::size_t i = 1; i < doc.records.size(); ++i) {
    const auto& fields = doc.records[i].fields;
    if (fields.size() != columns.size()) {
      out.error = "CSV line " + std::to_string(doc.records[i].line) + ": " + std::to_string(fields.size()) +
                  " fields, not " + std::to_string(columns.size());
      return out;
    }
    proof_record r;
    for (std::size_t c = 0; c < columns.size(); ++c) {
      r.*columns[c].second = unescape_field(fields[c]);
    }
    out.records.push_back(std::move(r));
  }
  return out;
}

} // namespace

std::string proof_csv_header() {
  std::vector<std::string> names;
  for (const auto& [name, m] : columns) {
    names.emplace_back(name);
  }
  return csv_row(names);
}

std::string proof_csv_line(const proof_record& r) {
  std::string line;
  for (const auto& [name, m] : columns) {
    line += (line.empty() ? "" : ",") + proof_field(r.*m);
  }
  return line + "\r\n";
}

std::string proof_json_line(const proof_record& r) {
  nlohmann::json j{{"record", r.kind}};
  for (const auto& key : json_keys(r.kind)) {
    const auto& value = r.*member(key);
    std::int64_t n = 0;
    if (numeric(key) && value.empty()) {
      j[key] = nullptr;
    } else if (numeric(key) &&
               std::from_chars(value.data(), value.data() + value.size(), n).ptr == value.data() + value.size()) {
      j[key] = n;
    } else if (key == "session_id" && value.empty()) {
      j[key] = nullptr;
    } else {
      j[key] = value;
    }
  }
  return to_json_text(j);
}

std::string render_proof_report(const std::vector<proof_record>& records, std::size_t count, bool json,
                                 bool closed) {
  std::string out = json ? std::string(proof_json_open) : proof_csv_header();
  for (std::size_t i = 0; i < count; ++i) {
    out += json ? (i == 0 ? "" : std::string(proof_json_separator)) + proof_json_line(records[i])
                : proof_csv_line(records[i]);
  }
  if (json && closed) {
    out += proof_json_close;
  }
  return out;
}

parsed_report parse_proof_report(std::string_view text) {
  const bool json = !text.empty() && text[0] == '[';
  auto out = json ? parse_json(text) : parse_csv_report(text);
  if (!out.error.empty()) {
    return out;
  }
  out.json = json;
  const auto again = render_proof_report(out.records, out.records.size(), json, true);
  if (again != text) {
    std::size_t at = 0;
    while (at < again.size() && at < text.size() && again[at] == text[at]) {
      ++at;
    }
    out.error = "the file differs from the report its records make, at byte " + std::to_string(at);
    out.records.clear();
  }
  return out;
}

} // namespace solod
