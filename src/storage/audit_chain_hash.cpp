#include "storage/audit_chain_hash.hpp"

#include "util/hex.hpp"
#include "util/random.hpp"

#include <sodium.h>

#include <cstring>

namespace solod {

namespace {

constexpr std::size_t field_key_bytes = 16; // BLAKE2b's shortest key
using field_key = std::array<std::uint8_t, field_key_bytes>;
const std::string sealed_prefix = "sealed:";

/// Incremental BLAKE2b-256 with length-prefixed fields, so no two field lists hash alike.
class hasher {
public:
  explicit hasher(std::string_view domain, const std::uint8_t* key = nullptr, std::size_t key_len = 0,
                  std::size_t out_len = 32)
    : out_len_(out_len) {
    crypto_generichash_init(&state_, key, key_len, out_len);
    raw(domain);
  }
  void raw(std::string_view bytes) {
    crypto_generichash_update(&state_, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  }
  void raw(const chain_digest& d) { crypto_generichash_update(&state_, d.data(), d.size()); }
  void number(std::int64_t v) {
    std::uint8_t le[8];
    for (int i = 0; i < 8; ++i) {
      le[i] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(v) >> (8 * i));
    }
    crypto_generichash_update(&state_, le, sizeof le);
  }
  void text(std::string_view s) {
    number(static_cast<std::int64_t>(s.size()));
    raw(s);
  }
  void maybe_text(const std::optional<std::string>& s) {
    raw(s ? std::string_view("\1", 1) : std::string_view("\0", 1));
    if (s) {
      text(*s);
    }
  }
  void maybe_number(const std::optional<std::int64_t>& v) {
    raw(v ? std::string_view("\1", 1) : std::string_view("\0", 1));
    if (v) {
      number(*v);
    }
  }
  chain_digest digest() {
    chain_digest out{};
    crypto_generichash_final(&state_, out.data(), out_len_);
    return out;
  }
  void finish(std::uint8_t* out) { crypto_generichash_final(&state_, out, out_len_); }

private:
  crypto_generichash_state state_;
  std::size_t out_len_;
};

/// The four field keys a row key stands for (one BLAKE2b-512 call).
std::array<field_key, personal_field_count> field_keys(const field_key& row_key) {
  std::array<std::uint8_t, field_key_bytes * personal_field_count> all{};
  hasher h("solod-audit-fields-v1", row_key.data(), row_key.size(), all.size());
  h.finish(all.data());
  std::array<field_key, personal_field_count> keys{};
  for (std::size_t f = 0; f < personal_field_count; ++f) {
    std::memcpy(keys[f].data(), all.data() + f * field_key_bytes, field_key_bytes);
  }
  return keys;
}

chain_digest commit(const field_key& key, std::string_view value) {
  hasher h("", key.data(), key.size());
  h.raw(value);
  return h.digest();
}

/// One field of a sealed key: its key (kept field) or its commitment (replaced field).
struct sealed_field {
  std::optional<field_key> key;
  chain_digest commitment{};
};

std::optional<std::array<sealed_field, personal_field_count>> parse_sealed(std::string_view text) {
  text.remove_prefix(sealed_prefix.size());
  std::array<sealed_field, personal_field_count> out{};
  for (std::size_t f = 0; f < personal_field_count; ++f) {
    const auto comma = text.find(',');
    if ((comma == std::string_view::npos) != (f + 1 == personal_field_count)) {
      return std::nullopt;
    }
    const auto item = text.substr(0, comma);
    if (item.empty()) {
      return std::nullopt;
    }
    if (item[0] == 'k') {
      field_key k{};
      if (!bytes_from_hex(item.substr(1), k)) {
        return std::nullopt;
      }
      out[f].key = k;
    } else if (item[0] != 'c' || !bytes_from_hex(item.substr(1), out[f].commitment)) {
      return std::nullopt;
    }
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
  }
  return out;
}

/// Every field's key or commitment under `chain_key`.
std::optional<std::array<sealed_field, personal_field_count>> fields_of(const std::string& chain_key) {
  if (chain_key.starts_with(sealed_prefix)) {
    return parse_sealed(chain_key);
  }
  field_key row_key{};
  if (!bytes_from_hex(chain_key, row_key)) {
    return std::nullopt;
  }
  std::array<sealed_field, personal_field_count> out{};
  const auto keys = field_keys(row_key);
  for (std::size_t f = 0; f < personal_field_count; ++f) {
    out[f].key = keys[f];
  }
  return out;
}

} // namespace

std::vector<std::string> new_chain_keys(std::size_t n) {
  std::vector<std::uint8_t> bytes(n * field_key_bytes);
  random_bytes(bytes.data(), bytes.size());
  std::vector<std::string> keys(n);
  field_key k{};
  for (std::size_t i = 0; i < n; ++i) {
    std::memcpy(k.data(), bytes.data() + i * field_key_bytes, field_key_bytes);
    keys[i] = hex_of(k);
  }
  return keys;
}

unsigned replaced_fields(const std::string& chain_key) {
  if (!chain_key.starts_with(sealed_prefix)) {
    return 0;
  }
  const auto fields = parse_sealed(chain_key);
  unsigned mask = 0;
  for (std::size_t f = 0; fields && f < personal_field_count; ++f) {
    mask |= (*fields)[f].key ? 0u : 1u << f;
  }
  return mask;
}

std::optional<std::array<chain_digest, personal_field_count>>
personal_commitments(const std::string& chain_key, const chain_row& row) {
  const auto fields = fields_of(chain_key);
  if (!fields) {
    return std::nullopt;
  }
  std::array<chain_digest, personal_field_count> out{};
  for (std::size_t f = 0; f < personal_field_count; ++f) {
    const auto& field = (*fields)[f];
    out[f] = field.key ? commit(*field.key, row.personal[f]) : field.commitment;
  }
  return out;
}

chain_digest content_digest(const chain_row& row,
                            const std::array<chain_digest, personal_field_count>& commitments) {
  hasher h("solod-audit-content-v1");
  h.text(row.event_type);
  h.maybe_text(row.session_id);
  h.text(row.status);
  h.text(row.legal_basis);
  for (const auto& c : commitments) {
    h.raw(c);
  }
  return h.digest();
}

chain_digest row_hash(const chain_digest& prev, std::int64_t id, std::string_view timestamp,
                      const std::optional<std::int64_t>& user_id, const chain_digest& content) {
  hasher h("solod-audit-row-v1");
  h.raw(prev);
  h.number(id);
  h.text(timestamp);
  h.maybe_number(user_id);
  h.raw(content);
  return h.digest();
}

std::optional<chain_digest> chain_row_hash(const chain_digest& prev, const std::string& chain_key,
                                           const chain_row& row) {
  const auto commitments = personal_commitments(chain_key, row);
  if (!commitments) {
    return std::nullopt;
  }
  return row_hash(prev, row.id, row.timestamp, row.user_id, content_digest(row, *commitments));
}

std::optional<std::string> seal_chain_key(const std::string& chain_key, const chain_row& row,
                                          unsigned replaced) {
  const auto fields = fields_of(chain_key);
  if (!fields) {
    return std::nullopt;
  }
  std::string out = sealed_prefix;
  for (std::size_t f = 0; f < personal_field_count; ++f) {
    const auto& field = (*fields)[f];
    out += f == 0 ? "" : ",";
    if (field.key && !(replaced & (1u << f))) {
      out += "k" + hex_of(*field.key);
    } else {
      out += "c" + hex_of(field.key ? commit(*field.key, row.personal[f]) : field.commitment);
    }
  }
  return out;
}

struct stream_digest::state {
  crypto_generichash_state h;
};

stream_digest::stream_digest() : state_(std::make_unique<state>()) {
  crypto_generichash_init(&state_->h, nullptr, 0, 32);
}

stream_digest::~stream_digest() = default;

void stream_digest::add(std::string_view bytes) {
  crypto_generichash_update(&state_->h, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

chain_digest stream_digest::finish() {
  chain_digest out{};
  crypto_generichash_final(&state_->h, out.data(), out.size());
  return out;
}

std::string report_message(const chain_digest& digest_of_report) {
  return "solod-audit-report-v1" + std::string(digest_of_report.begin(), digest_of_report.end());
}

std::string checkpoint_message(std::int64_t row_id, const chain_digest& head, std::int64_t genesis_id,
                               std::string_view created_at) {
  std::string msg = "solod-audit-checkpoint-v1";
  for (auto v : {row_id, genesis_id}) {
    for (int i = 0; i < 8; ++i) {
      msg += static_cast<char>(static_cast<std::uint64_t>(v) >> (8 * i));
    }
  }
  msg.append(reinterpret_cast<const char*>(head.data()), head.size());
  msg += created_at;
  return msg;
}

} // namespace solod
