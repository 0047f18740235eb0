#pragma once
/// @brief The hash chain over the audit log: commitments, row hashes, seals.
///
/// A row's hash commits to the previous row's hash, the row's id and time,
/// its account number, and a digest of its content. The content digest takes
/// the personal fields (username, address, User-Agent, detail) only as keyed
/// commitments, so an erasure can replace them and keep the chain: it seals
/// the row first (see `seal_chain_key`). Pure functions over libsodium's
/// BLAKE2b; no database.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace solod {

/// A BLAKE2b-256 value.
using chain_digest = std::array<std::uint8_t, 32>;

/// The previous hash of the chain's first row.
inline constexpr chain_digest chain_genesis{};

/// The personal fields, in the order the content digest takes them.
enum class personal_field : std::uint8_t { username, ip_address, user_agent, detail };
inline constexpr std::size_t personal_field_count = 4;

/// The fields a row hash covers, as stored (timestamp as its ISO text).
struct chain_row {
  std::int64_t id = 0;
  std::string timestamp;
  std::optional<std::int64_t> user_id;
  std::string event_type;
  std::optional<std::string> session_id;
  std::string status;
  std::string legal_basis;
  std::array<std::string, personal_field_count> personal; ///< by personal_field
};

/// `n` fresh row keys: 16 random bytes each as 32 hex digits (one call to the CSPRNG).
std::vector<std::string> new_chain_keys(std::size_t n);

/// The fields a sealed key no longer checks against their values (bit
/// 1 << personal_field, see seal_chain_key); 0 for a row key or a malformed one.
unsigned replaced_fields(const std::string& chain_key);

/// The personal fields' commitments of `row` under `chain_key` (a row key,
/// or a sealed key); nullopt when the key is malformed.
std::optional<std::array<chain_digest, personal_field_count>>
personal_commitments(const std::string& chain_key, const chain_row& row);

/// The digest of a row's content: its type, session, status, legal basis and
/// the commitments of its personal fields.
chain_digest content_digest(const chain_row& row,
                            const std::array<chain_digest, personal_field_count>& commitments);

/// The row's place in the chain: `prev`, id, timestamp, account and content.
chain_digest row_hash(const chain_digest& prev, std::int64_t id, std::string_view timestamp,
                      const std::optional<std::int64_t>& user_id, const chain_digest& content);

/// `row`'s content digest under `chain_key`, then its row hash; nullopt for a malformed key.
std::optional<chain_digest> chain_row_hash(const chain_digest& prev, const std::string& chain_key,
                                           const chain_row& row);

/// The key that replaces `chain_key` before the fields in `replaced` (bit
/// 1 << personal_field) are rewritten: the commitment of each replaced field,
/// and the key of each kept one, so the random row key, and with it any way
/// to test a guess of an erased value, is gone. Nullopt for a malformed key.
std::optional<std::string> seal_chain_key(const std::string& chain_key, const chain_row& row,
                                          unsigned replaced);

/// Bit of `f` in a `replaced` mask.
constexpr unsigned field_bit(personal_field f) {
  return 1u << static_cast<unsigned>(f);
}

/// What an erasure replaces in the person's own rows: name, address, User-Agent.
inline constexpr unsigned erased_fields = field_bit(personal_field::username) |
                                          field_bit(personal_field::ip_address) |
                                          field_bit(personal_field::user_agent);

/// BLAKE2b-256 over bytes given piece by piece (a report as it is written).
class stream_digest {
public:
  stream_digest();
  ~stream_digest();
  stream_digest(const stream_digest&) = delete;
  stream_digest& operator=(const stream_digest&) = delete;

  void add(std::string_view bytes);
  /// The digest of everything added; call once.
  chain_digest finish();

private:
  struct state;
  std::unique_ptr<state> state_;
};

/// The bytes a report's closing signature covers: the digest of all the report before it.
std::string report_message(const chain_digest& digest_of_report);

/// The bytes an Ed25519 checkpoint signature covers: the row, its hash, where
/// the chain began (the last row before it) and when it was signed.
std::string checkpoint_message(std::int64_t row_id, const chain_digest& head, std::int64_t genesis_id,
                               std::string_view created_at);

} // namespace solod
