#include "latency_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace bench {

namespace {

constexpr int sub_bits = 7; // 128 buckets per power of two
constexpr std::uint64_t sub_count = 1u << sub_bits;
constexpr int max_exponent = 50; // ~13 days in ns: anything longer is clamped

std::size_t index_of(std::uint64_t v) {
  if (v < 2 * sub_count) {
    return static_cast<std::size_t>(v);
  }
  int e = std::min(63 - __builtin_clzll(v), max_exponent);
  auto sub = (v >> (e - sub_bits)) & (sub_count - 1);
  return static_cast<std::size_t>((e - sub_bits + 1) * sub_count + sub);
}

/// The middle of bucket `i`, in ns.
double middle_of(std::size_t i) {
  if (i < 2 * sub_count) {
    return static_cast<double>(i);
  }
  int e = static_cast<int>(i / sub_count) + sub_bits - 1;
  auto sub = i % sub_count;
  double low = static_cast<double>((sub_count + sub) << (e - sub_bits));
  double width = static_cast<double>(std::uint64_t{1} << (e - sub_bits));
  return low + width / 2;
}

} // namespace

void latency_histogram::record(std::int64_t ns) {
  if (ns < 0) {
    ns = 0;
  }
  auto i = index_of(static_cast<std::uint64_t>(ns));
  if (i >= buckets_.size()) {
    buckets_.resize(i + 1, 0);
  }
  buckets_[i]++;
  min_ns_ = count_ == 0 ? ns : std::min(min_ns_, ns);
  max_ns_ = count_ == 0 ? ns : std::max(max_ns_, ns);
  count_++;
  sum_ns_ += static_cast<double>(ns);
}

void latency_histogram::merge(const latency_histogram& other) {
  if (other.count_ == 0) {
    return;
  }
  if (other.buckets_.size() > buckets_.size()) {
    buckets_.resize(other.buckets_.size(), 0);
  }
  for (std::size_t i = 0; i < other.buckets_.size(); ++i) {
    buckets_[i] += other.buckets_[i];
  }
  min_ns_ = count_ == 0 ? other.min_ns_ : std::min(min_ns_, other.min_ns_);
  max_ns_ = count_ == 0 ? other.max_ns_ : std::max(max_ns_, other.max_ns_);
  count_ += other.count_;
  sum_ns_ += other.sum_ns_;
}

double latency_histogram::percentile_ms(double p) const {
  if (count_ == 0) {
    return 0;
  }
  // The rank of the sample we want, 1-based: p50 of 1..100 is the 50th.
  auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      double ns = std::clamp(middle_of(i), static_cast<double>(min_ns_), static_cast<double>(max_ns_));
      return ns / 1e6;
    }
  }
  return static_cast<double>(max_ns_) / 1e6;
}

double latency_histogram::max_ms() const {
  return static_cast<double>(max_ns_) / 1e6;
}

double latency_histogram::min_ms() const {
  return static_cast<double>(min_ns_) / 1e6;
}

double latency_histogram::mean_ms() const {
  return count_ == 0 ? 0 : sum_ns_ / static_cast<double>(count_) / 1e6;
}

nlohmann::json latency_histogram::summary_ms() const {
  return {{"count", count_},
          {"p50", rounded(percentile_ms(50))},
          {"p90", rounded(percentile_ms(90))},
          {"p99", rounded(percentile_ms(99))},
          {"max", rounded(max_ms())},
          {"mean", rounded(mean_ms())}};
}

nlohmann::json latency_histogram::to_json() const {
  auto sparse = nlohmann::json::array();
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    if (buckets_[i] != 0) {
      sparse.push_back({i, buckets_[i]});
    }
  }
  return {{"n", count_}, {"sum", sum_ns_}, {"min", min_ns_}, {"max", max_ns_}, {"b", sparse}};
}

latency_histogram latency_histogram::from_json(const nlohmann::json& j) {
  latency_histogram h;
  if (!j.is_object()) {
    return h;
  }
  h.count_ = j.value("n", std::uint64_t{0});
  h.sum_ns_ = j.value("sum", 0.0);
  h.min_ns_ = j.value("min", std::int64_t{0});
  h.max_ns_ = j.value("max", std::int64_t{0});
  for (const auto& pair : j.value("b", nlohmann::json::array())) {
    auto i = pair.at(0).get<std::size_t>();
    if (i >= h.buckets_.size()) {
      h.buckets_.resize(i + 1, 0);
    }
    h.buckets_[i] += pair.at(1).get<std::uint64_t>();
  }
  return h;
}

double rounded(double x, int digits) {
  double f = std::pow(10.0, digits);
  return std::round(x * f) / f;
}

} // namespace bench
