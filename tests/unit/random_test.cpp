// Tests for src/util/random.*.

#include "util/random.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <thread>
#include <vector>

using namespace solod;

TEST_CASE("random: hex has two lower-case hex characters per byte", "[random]") {
  for (std::size_t n : {0u, 1u, 16u, 32u, 100u}) {
    const std::string hex = random_hex(n);
    CHECK(hex.size() == 2 * n);
    CHECK(hex.find_first_not_of("0123456789abcdef") == std::string::npos);
  }
}

TEST_CASE("random: two values differ", "[random]") {
  // 2^-128 chance of a false failure.
  CHECK(random_hex(16) != random_hex(16));
  std::array<std::uint8_t, 32> a{};
  std::array<std::uint8_t, 32> b{};
  random_bytes(a.data(), a.size());
  random_bytes(b.data(), b.size());
  CHECK(a != b);
}

TEST_CASE("random: fills exactly the bytes asked for", "[random]") {
  std::array<std::uint8_t, 64> buf{};
  buf.fill(0xAA);
  random_bytes(buf.data() + 8, 16);
  for (std::size_t i = 0; i < 8; ++i) {
    CHECK(buf[i] == 0xAA);
  }
  for (std::size_t i = 24; i < buf.size(); ++i) {
    CHECK(buf[i] == 0xAA);
  }
  random_bytes(nullptr, 0);
}

TEST_CASE("random: usable from many threads at once", "[random]") {
  std::vector<std::string> results(8);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&results, i] { results[i] = random_hex(16); });
  }
  for (auto& t : threads) {
    t.join();
  }
  for (std::size_t i = 0; i < results.size(); ++i) {
    CHECK(results[i].size() == 32);
    for (std::size_t j = i + 1; j < results.size(); ++j) {
      CHECK(results[i] != results[j]);
    }
  }
}
