/// @brief Fuzz target: `solod audit verify-report`'s reader and checker, over
/// any bytes a report file may hold (CSV or JSON).
///
/// Properties: no crash, no sanitizer finding; a report judged intact is
/// exactly one solod wrote and signed: it parses, renders back to the same
/// bytes, and its last record's signature verifies under the fuzz key. The
/// seeds are real reports signed by that key (README "Tests": how they were made).

#include "storage/audit_chain_hash.hpp"
#include "storage/audit_signing_key.hpp"
#include "storage/proof_check.hpp"
#include "storage/proof_records.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

/// The public key of the seed 0x42 repeated 32 times, which signed the corpus.
const std::string fuzz_key = "2152f8d19b791d24453242e15f2eab6cb7cffa7b6a5ed30097960e069881db12";

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "proof_report: %s\n", why.c_str());
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto verdict = solod::check_proof_report(text, {fuzz_key});
  if (!verdict.intact) {
    return 0;
  }
  const auto parsed = solod::parse_proof_report(text);
  if (!parsed.error.empty() || parsed.records.empty()) {
    fail("judged intact but does not parse: " + parsed.error);
  }
  const auto& sig = parsed.records.back();
  solod::stream_digest d;
  d.add(solod::render_proof_report(parsed.records, parsed.records.size() - 1, parsed.json, false));
  if (sig.kind != "signature" || !solod::signature_valid(fuzz_key, solod::report_message(d.finish()), sig.signature)) {
    fail("judged intact without a valid signature");
  }
  return 0;
}
