#include "cli/audit_commands.hpp"

#include "storage/audit_proof.hpp"
#include "storage/audit_signing_key.hpp"
#include "storage/audit_verifier.hpp"
#include "storage/checkpoint_signer.hpp"
#include "storage/read_snapshot.hpp"
#include "storage/proof_check.hpp"
#include "util/clock.hpp"
#include "util/time_format.hpp"

#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>

namespace solod {

namespace {

/// The largest report verify-report reads (it is checked in memory).
constexpr std::uintmax_t max_report_bytes = std::uintmax_t{4} << 30;

std::string key_path(const config& cfg) {
  return signing_key_path(cfg.audit.signing_key_file, cfg.data_dir);
}

/// The keys whose checkpoints are believed: --pubkey, else this node's own
/// key (if it has one) and audit.trusted_keys. Empty after an error.
std::vector<std::string> trusted_keys(const config& cfg, const command_line& cmd, std::ostream& err) {
  for (const auto& k : cmd.pubkeys) {
    if (!is_public_key(k)) {
      err << "solod: --pubkey: '" << k << "' is not a public key (64 hex digits, from solod audit pubkey)\n";
      return {};
    }
  }
  std::vector<std::string> keys = cmd.pubkeys;
  if (keys.empty()) {
    if (std::filesystem::exists(key_path(cfg))) {
      keys.push_back(audit_signing_key::load(key_path(cfg)).public_key());
    }
    keys.insert(keys.end(), cfg.audit.trusted_keys.begin(), cfg.audit.trusted_keys.end());
  }
  if (keys.empty()) {
    err << "solod: no key to check signatures with: give --pubkey KEY (solod audit pubkey on the server prints it)\n";
  }
  return keys;
}

/// --from and --to; false (after saying why) when one is not a date.
bool read_range(const command_line& cmd, std::optional<time_point>& from, std::optional<time_point>& to,
                std::ostream& err) {
  for (auto [text, name, out] : {std::tuple{&cmd.from, "--from", &from}, std::tuple{&cmd.to, "--to", &to}}) {
    if (text->empty()) {
      continue;
    }
    *out = parse_iso8601(*text);
    if (!*out) {
      err << "solod: " << name << ": '" << *text << "' is not an ISO-8601 date or time\n";
      return false;
    }
  }
  return true;
}

void print_verdict(const chain_verdict& v, std::ostream& out) {
  if (!v.intact()) {
    out << "audit chain BROKEN\n";
    out << "first broken row: " << v.problems.front().row_id << " (" << v.problems.front().kind << ")\n";
    for (const auto& p : v.problems) {
      out << "  row " << p.row_id << ": " << p.kind << ": " << p.detail << "\n";
    }
    if (v.more_problems > 0) {
      out << "  ... and " << v.more_problems << " more\n";
    }
    return;
  }
  out << "audit chain intact\n";
  out << "rows " << v.first_row << " to " << v.last_row << " (" << v.rows << " rows) chained from " << v.anchor
      << "\n";
  out << v.checkpoints << " signed checkpoints verified";
  if (v.signed_up_to > 0) {
    out << ", rows signed up to " << v.signed_up_to;
    if (v.last_row > v.signed_up_to) {
      out << "; rows " << v.signed_up_to + 1 << " to " << v.last_row << " are chained, not yet signed";
    }
  } else if (v.rows > 0) {
    out << "; no checkpoint signs these rows yet";
  }
  out << "\n";
  if (v.outside_rows > 0) {
    out << v.outside_rows << " rows from before the chain began are not covered\n";
  }
}

} // namespace

bool is_offline_audit_command(const command_line& cmd) {
  return cmd.command == "audit_pubkey" || cmd.command == "audit_verify_report";
}

int run_offline_audit_command(const config& cfg, const command_line& cmd, std::ostream& out, std::ostream& err) {
  try {
    if (cmd.command == "audit_pubkey") {
      out << audit_signing_key::load_or_create(key_path(cfg)).public_key() << "\n";
      return 0;
    }
    const auto keys = trusted_keys(cfg, cmd, err);
    if (keys.empty()) {
      return 2;
    }
    std::error_code ec;
    const auto size = std::filesystem::file_size(cmd.file, ec);
    std::ifstream in(cmd.file, std::ios::binary);
    if (ec || !in) {
      err << "solod: cannot read '" << cmd.file << "'\n";
      return 2;
    }
    if (size > max_report_bytes) {
      err << "solod: '" << cmd.file << "' is larger than " << max_report_bytes / (1024 * 1024 * 1024)
          << " GiB: no report solod writes is checked in memory that large\n";
      return 2;
    }
    std::ostringstream text;
    text << in.rdbuf();
    const auto verdict = check_proof_report(text.str(), keys);
    out << (verdict.intact ? "" : "report BROKEN: ") << verdict.summary << "\n";
    return verdict.intact ? 0 : 1;
  } catch (const std::exception& e) {
    err << "solod: " << e.what() << "\n";
    return 1;
  }
}

int audit_verify(soci::session& sql, const config& cfg, const command_line& cmd, std::ostream& out,
                 std::ostream& err) {
  verify_options opts;
  if (!read_range(cmd, opts.from, opts.to, err)) {
    return 2;
  }
  opts.trusted_keys = trusted_keys(cfg, cmd, err);
  if (opts.trusted_keys.empty()) {
    return 2;
  }
  opts.last_signed = read_signed_point(signed_point_path(key_path(cfg)));
  const auto verdict = verify_audit_chain(sql, opts);
  print_verdict(verdict, out);
  return verdict.intact() ? 0 : 1;
}

int audit_export_with_proof(soci::session& sql, const config& cfg, const command_line& cmd, std::ostream& out,
                            std::ostream& err) {
  proof_scope scope{.username = cmd.user};
  if (!read_range(cmd, scope.from, scope.to, err)) {
    return 2;
  }
  if (!std::filesystem::exists(key_path(cfg))) {
    err << "solod: no audit signing key at '" << key_path(cfg)
        << "': run this where the server runs, with its config (audit.signing_key_file, data_dir)\n";
    return 1;
  }
  checkpoint_signer signer(audit_signing_key::load(key_path(cfg)), key_path(cfg));
  proof_report_writer writer(scope, cmd.format == "json");
  try {
    out << writer.begin(sql, signer, system_clock{}.now());
  } catch (const std::exception& e) { // proof_error, chain_break
    err << "solod: " << e.what() << "\n";
    return 1;
  }
  // One snapshot for the rows: a retention sweep meanwhile cannot cut the report.
  read_snapshot snapshot(sql);
  std::string chunk;
  for (bool more = true; more;) {
    chunk.clear();
    more = writer.next(sql, chunk);
    out << chunk;
  }
  out.flush();
  return 0;
}

} // namespace solod
