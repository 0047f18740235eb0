// `solod-bench summary FILE`: the RESULT lines of a run (one JSON object per
// line, as bench/run.sh collects them) as one markdown table, each solod
// figure next to its target from issue #4. Peers have no targets: they are
// there to compare.

#include "options.hpp"
#include "report.hpp"
#include "scenarios.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <vector>

namespace bench {

namespace {

using json = nlohmann::json;

/// One table row: what was measured, the target, and whether it was met.
struct summary_row {
  std::string figure;
  std::string target;
  bool judged = false; ///< false: no target applies (peers, or a run too small to tell)
  bool met = false;
};

double num(const json& j, const std::string& key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : 0;
}

double lat(const json& j, const std::string& key, const std::string& p) {
  return j.contains(key) && j[key].is_object() ? num(j[key], p) : 0;
}

/// Figures TLS rows are set against (issue 12), from the same run.
struct yardsticks {
  double raw_handshakes_per_s = 0; ///< the `handshake` scenario
  double plain_ping_per_s = 0;     ///< solod's /ws ping without TLS
};

/// The TLS targets of issue 12; false when `r` is not a TLS row of solod's /ws.
bool describe_tls(const json& r, const yardsticks& y, summary_row& row) {
  const auto scenario = r.value("scenario", "");
  if (scenario == "handshake") {
    row.figure = fmt(num(r, "handshakes_per_s")) + " handshakes/s (" + r.value("version", "") + ", " +
                 r.value("cipher", "") + ", " + fmt(num(r, "threads")) + "+" + fmt(num(r, "threads")) +
                 " threads)";
    return true;
  }
  if (scenario == "ping" && r.value("label", "") == "solod-2p" && !r.value("tls", false)) {
    row.figure = fmt(num(r, "round_trips_per_s")) + " round trips/s (" + fmt(num(r, "ready")) +
                 " conns, 2 client processes): the plain figure TLS is set against";
    return true;
  }
  if (scenario == "tls-memory") {
    row.figure = fmt(num(r, "openssl_bytes_per_connection")) + " B of OpenSSL state per idle " +
                 r.value("version", "") + " connection; " + fmt(num(r, "bytes_per_connection")) +
                 " B with tls_engine and malloc's overhead";
    return true;
  }
  if (!r.value("tls", false) || r.value("proto", "") != "solod" || num(r, "nodes") > 1) {
    return false;
  }
  if (scenario == "hold") {
    row.figure = fmt(num(r, "kib_per_connection"), 2) + " KiB/conn (" + fmt(num(r, "ready")) + " held, " +
                 fmt(num(r, "dropped")) + " dropped)";
    row.target = "<= 16 KiB at 19,000";
    row.judged = true;
    row.met = num(r, "kib_per_connection") <= 16 && num(r, "ready") >= 19000 && num(r, "dropped") == 0;
    return true;
  }
  if (scenario == "connect" && y.raw_handshakes_per_s > 0) {
    double ratio = num(r, "connects_per_s") / y.raw_handshakes_per_s;
    row.figure = fmt(num(r, "connects_per_s")) + " /s = " + fmt(ratio * 100, 1) + " % of raw " +
                 fmt(y.raw_handshakes_per_s) + " handshakes/s (" + fmt(num(r, "ready")) + " of " +
                 fmt(num(r, "connections")) + ")";
    row.target = ">= 80 % of raw";
    row.judged = true;
    row.met = ratio >= 0.8 && num(r, "ready") == num(r, "connections");
    return true;
  }
  if (scenario == "ping" && y.plain_ping_per_s > 0) {
    double ratio = num(r, "round_trips_per_s") / y.plain_ping_per_s;
    row.figure = fmt(num(r, "round_trips_per_s")) + " round trips/s = " + fmt(ratio * 100, 1) +
                 " % of plain " + fmt(y.plain_ping_per_s) + " (" + fmt(num(r, "ready")) + " conns)";
    row.target = ">= 80 % of plain";
    row.judged = true;
    row.met = ratio >= 0.8;
    return true;
  }
  return false; // the kick over TLS has the plain kick's target
}

summary_row describe(const json& r, const yardsticks& y) {
  summary_row tls_row;
  if (describe_tls(r, y, tls_row)) {
    if (!r.value("ok", true)) {
      tls_row.figure += " (run not ok)";
    }
    return tls_row;
  }
  const auto scenario = r.value("scenario", "");
  const bool solod = r.value("proto", "") == "solod";
  // Several nodes (issue 10) are compared with one: only the cross-node kick has a target of its own.
  const bool cluster = num(r, "nodes") > 1;
  summary_row row;
  if (scenario == "logins") {
    row.figure = fmt(num(r, "logins_per_s"), 1) + " logins/s = " + fmt(num(r, "ratio") * 100, 1) + " % of raw " +
                 fmt(num(r, "raw_hashes_per_s"), 1) + " hashes/s";
    row.target = ">= 90 % of raw";
    row.judged = solod && !cluster;
    row.met = num(r, "ratio") >= 0.9;
  } else if (scenario == "connect") {
    row.figure = fmt(num(r, "connects_per_s")) + " /s (" + fmt(num(r, "ready")) + " of " +
                 fmt(num(r, "connections")) + ", p99 " + fmt(lat(r, "latency_ms", "p99"), 2) + " ms)";
    row.target = ">= 10,000 /s";
    row.judged = solod && !cluster;
    row.met = num(r, "connects_per_s") >= 10000;
  } else if (scenario == "hold") {
    row.figure = fmt(num(r, "kib_per_connection"), 2) + " KiB/conn (" + fmt(num(r, "ready")) + " held, " +
                 fmt(num(r, "dropped")) + " dropped)";
    row.target = "<= 10 KiB at 19,000";
    row.judged = solod;
    row.met = num(r, "kib_per_connection") <= 10 && num(r, "ready") >= 19000 && num(r, "dropped") == 0;
  } else if (scenario == "kick" && !r.value("login_urls", std::string()).empty()) {
    // Issue 10: log in on one node, time the close frame on another (news through PostgreSQL).
    row.figure = "cross-node p50 " + fmt(lat(r, "latency_ms", "p50"), 3) + " / p99 " +
                 fmt(lat(r, "latency_ms", "p99"), 3) + " / max " + fmt(lat(r, "latency_ms", "max"), 3) + " ms; " +
                 fmt(num(r, "arrived")) + " of " + fmt(num(r, "kicks")) + " arrived, " + fmt(num(r, "ready")) +
                 " live";
    row.target = "p99 <= 10 ms, none lost, 19,000 live, >= 1,000 kicks";
    row.judged = solod;
    row.met = lat(r, "latency_ms", "p99") <= 10 && num(r, "lost") == 0 && num(r, "arrived") == num(r, "kicks") &&
              num(r, "kicks") >= 1000 && num(r, "ready") >= 19000;
  } else if (scenario == "kick") {
    row.figure = "p50 " + fmt(lat(r, "latency_ms", "p50"), 3) + " / p99 " + fmt(lat(r, "latency_ms", "p99"), 3) +
                 " / max " + fmt(lat(r, "latency_ms", "max"), 3) + " ms; " + fmt(num(r, "arrived")) + " of " +
                 fmt(num(r, "kicks")) + " arrived, " + fmt(num(r, "ready")) + " live";
    row.target = "p50 <= 1, p99 <= 5 ms, none lost, 19,000 live, >= 1,000 kicks";
    row.judged = solod;
    row.met = lat(r, "latency_ms", "p50") <= 1 && lat(r, "latency_ms", "p99") <= 5 && num(r, "lost") == 0 &&
              num(r, "arrived") == num(r, "kicks") && num(r, "kicks") >= 1000 && num(r, "ready") >= 19000;
  } else if (scenario == "ping") {
    row.figure = fmt(num(r, "round_trips_per_s")) + " round trips/s (" + fmt(num(r, "ready")) + " conns, p99 " +
                 fmt(lat(r, "latency_ms", "p99"), 2) + " ms)";
    row.target = ">= 100,000 /s";
    row.judged = solod;
    row.met = num(r, "round_trips_per_s") >= 100000;
  } else if (scenario == "presence") {
    row.figure = fmt(num(r, "deliveries_per_s")) + " deliveries/s; 2N/N time " +
                 fmt(num(r, "growth_2n_over_n"), 2) + "x; all delivered: " +
                 (r.value("all_delivered", false) ? "yes" : "no");
    row.target = ">= 200,000 /s, <= 2.5x, all";
    row.judged = solod;
    row.met = num(r, "deliveries_per_s") >= 200000 && num(r, "growth_2n_over_n") <= 2.5 &&
              r.value("all_delivered", false);
  } else if (scenario == "audit") {
    row.figure = fmt(num(r, "events_per_s")) + " events/s";
    if (r.contains("sqlite_raw_per_s")) {
      row.figure += " (raw SQLite, same rows and indexes: " + fmt(num(r, "sqlite_raw_per_s")) +
                    "/s; table only: " + fmt(num(r, "sqlite_raw_table_only_per_s")) + "/s)";
    }
    row.target = ">= 200,000 /s";
    bool met = num(r, "events_per_s") >= 200000;
    if (r.value("backend", "sqlite") == "postgresql") {
      // No target of its own: the figure is set against SQLite's in the same run.
      row.figure += " on PostgreSQL";
      row.target = "(compare with SQLite)";
      row.judged = false;
      if (!r.value("ok", true)) {
        row.figure += " (run not ok)";
      }
      return row;
    }
    if (r.contains("commit_minus_async_ms")) {
      row.figure += "; login median commit " + fmt(num(r, "commit_median_ms"), 2) + " vs async " +
                    fmt(num(r, "async_median_ms"), 2) + " ms (" + (num(r, "commit_minus_async_ms") >= 0 ? "+" : "") +
                    fmt(num(r, "commit_minus_async_ms"), 2) + ")";
      row.target += "; commit <= async + 2 ms";
      met = met && num(r, "commit_minus_async_ms") <= 2;
    }
    row.judged = true;
    row.met = met;
  } else {
    row.figure = r.dump().substr(0, 80);
  }
  if (!r.value("ok", true)) {
    row.figure += " (run not ok" + (r.contains("error") ? ": " + r.value("error", "") : std::string()) + ")";
  }
  return row;
}

} // namespace

int run_summary(const arguments& args) {
  std::string path;
  bool verdicts = true;
  for (const auto& a : args) {
    if (a == "--no-verdict") {
      verdicts = false;
    } else if (a == "--help" || a == "-h") {
      std::cout << "usage: solod-bench summary FILE [--no-verdict]\n"
                   "  FILE: RESULT JSON lines (bench/results/latest.jsonl); --no-verdict: quick runs\n";
      return 0;
    } else if (path.empty()) {
      path = a;
    } else {
      throw usage_error("summary: one FILE only");
    }
  }
  if (path.empty()) {
    throw usage_error("summary: FILE is required");
  }
  std::ifstream in(path);
  if (!in) {
    throw usage_error("summary: cannot read '" + path + "'");
  }
  std::cout << "| scenario | server | tls | result | target | verdict |\n"
            << "|---|---|---|---|---|---|\n";
  std::vector<json> results;
  yardsticks y;
  std::string line;
  while (std::getline(in, line)) {
    auto r = json::parse(line, nullptr, false);
    if (!r.is_object()) {
      continue;
    }
    const auto scenario = r.value("scenario", "");
    if (scenario == "handshake") {
      y.raw_handshakes_per_s = num(r, "handshakes_per_s");
    } else if (scenario == "ping" && r.value("proto", "") == "solod" && !r.value("tls", false) &&
               r.value("label", "") == "solod-2p") {
      y.plain_ping_per_s = num(r, "round_trips_per_s"); // the TLS section's own plain run
    }
    results.push_back(std::move(r));
  }
  for (const auto& r : results) {
    auto row = describe(r, y);
    std::string verdict = !row.judged ? "-" : !verdicts ? "(quick: not judged)" : row.met ? "met" : "MISSED";
    std::cout << "| " << r.value("scenario", "?") << " | " << r.value("label", "?") << " | "
              << (r.value("tls", false) ? "yes" : "no") << " | " << row.figure << " | "
              << (row.judged ? row.target : "-") << " | " << verdict << " |\n";
  }
  return 0;
}

} // namespace bench
