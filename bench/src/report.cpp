#include "report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace bench {

std::string fmt(double x, int decimals) {
  if (!std::isfinite(x)) {
    return "-";
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, std::fabs(x));
  std::string digits = buf;
  auto dot = digits.find('.');
  std::string whole = digits.substr(0, dot);
  std::string frac = dot == std::string::npos ? "" : digits.substr(dot);
  std::string out;
  for (std::size_t i = 0; i < whole.size(); ++i) {
    if (i > 0 && (whole.size() - i) % 3 == 0) {
      out += ',';
    }
    out += whole[i];
  }
  return (x < 0 ? "-" : "") + out + frac;
}

std::string fmt_latency(const nlohmann::json& s) {
  if (!s.is_object() || s.value("count", 0) == 0) {
    return "-";
  }
  return "p50 " + fmt(s.value("p50", 0.0), 3) + " / p99 " + fmt(s.value("p99", 0.0), 3) +
         " / max " + fmt(s.value("max", 0.0), 3) + " ms";
}

void print_report(const std::string& title, const std::vector<report_row>& rows,
                  const nlohmann::json& result) {
  std::size_t name_width = 0;
  std::size_t value_width = 0;
  for (const auto& r : rows) {
    name_width = std::max(name_width, r.name.size());
    value_width = std::max(value_width, r.value.size());
  }
  std::string rule = "+" + std::string(name_width + 2, '-') + "+" + std::string(value_width + 2, '-') + "+";
  std::cout << "\n" << title << "\n" << rule << "\n";
  for (const auto& r : rows) {
    std::cout << "| " << r.name << std::string(name_width - r.name.size(), ' ') << " | "
              << std::string(value_width - r.value.size(), ' ') << r.value << " |\n";
  }
  std::cout << rule << "\n";
  std::cout << "RESULT " << result.dump() << "\n";
  std::cout.flush();
}

} // namespace bench
