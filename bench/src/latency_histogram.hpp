#pragma once
/// @brief A mergeable latency histogram (under 1 % error), small enough to send through a pipe.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

namespace bench {

/// Records durations in nanoseconds into log-linear buckets (128 per power
/// of two, so any percentile is within 0.8 % of the truth); min, max and sum
/// are exact. Workers send theirs as JSON; the parent merges them.
class latency_histogram {
public:
  /// Records one duration; negative ones count as 0.
  void record(std::int64_t ns);

  /// Adds every sample of `other`.
  void merge(const latency_histogram& other);

  std::uint64_t count() const { return count_; }

  /// The `p`-th percentile (0..100) in milliseconds; 0 when empty.
  double percentile_ms(double p) const;
  double max_ms() const;
  double min_ms() const;
  double mean_ms() const;

  /// `{count, p50, p90, p99, max, mean}` in milliseconds, rounded to microseconds.
  nlohmann::json summary_ms() const;

  /// The whole histogram (sparse), for the pipe to the parent.
  nlohmann::json to_json() const;
  static latency_histogram from_json(const nlohmann::json& j);

private:
  std::vector<std::uint64_t> buckets_;
  std::uint64_t count_ = 0;
  double sum_ns_ = 0;
  std::int64_t min_ns_ = 0;
  std::int64_t max_ns_ = 0;
};

/// `x` rounded to `digits` decimals (for readable JSON).
double rounded(double x, int digits = 3);

} // namespace bench
