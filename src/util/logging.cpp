#include "util/logging.hpp"

#include "util/utf8.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <filesystem>

namespace solod {

namespace {

/// `%*`: the message, escaped for a JSON string.
class json_message_flag : public spdlog::custom_flag_formatter {
public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    // Network strings are sanitized where they enter; this keeps every line
    // valid JSON even if a message carries bytes from elsewhere (a driver's
    // error text, a file name).
    std::string_view payload(msg.payload.data(), msg.payload.size());
    std::string repaired;
    if (!is_valid_utf8(payload)) {
      repaired = sanitize_utf8(payload, std::string::npos, utf8_controls::keep);
      payload = repaired;
    }
    for (char c : payload) {
      switch (c) {
        case '"':
          dest.append(std::string_view("\\\""));
          break;
        case '\\':
          dest.append(std::string_view("\\\\"));
          break;
        case '\n':
          dest.append(std::string_view("\\n"));
          break;
        case '\r':
          dest.append(std::string_view("\\r"));
          break;
        case '\t':
          dest.append(std::string_view("\\t"));
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            dest.append(std::string_view(buf));
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<json_message_flag>();
  }
};

std::unique_ptr<spdlog::formatter> make_formatter(log_format format) {
  auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (format == log_format::json) {
    f->add_flag<json_message_flag>('*').set_pattern(
      R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","thread":%t,"msg":"%*"})");
  } else {
    f->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ [%t] %v");
  }
  return f;
}

} // namespace

void setup_logging(const log_config& cfg) {
  auto level = spdlog::level::from_str(cfg.level);
  if (level == spdlog::level::off && cfg.level != "off") {
    throw config_error("invalid value for log.level: '" + cfg.level + "'");
  }
  std::error_code ec;
  std::filesystem::create_directories(cfg.dir, ec);
  if (ec) {
    throw config_error("log.dir: cannot create '" + cfg.dir + "': " + ec.message());
  }
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stdout_sink_mt>());
  try {
    sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
      cfg.dir + "/solod.log", static_cast<std::size_t>(cfg.max_file_mb) * 1024 * 1024,
      static_cast<std::size_t>(cfg.max_files)));
  } catch (const spdlog::spdlog_ex& e) {
    throw config_error("log.dir: cannot open '" + cfg.dir + "/solod.log': " + e.what());
  }
  auto logger = std::make_shared<spdlog::logger>("solod", sinks.begin(), sinks.end());
  logger->set_formatter(make_formatter(cfg.format));
  logger->set_level(level);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

void setup_cli_logging() {
  auto logger = std::make_shared<spdlog::logger>(
    "solod", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_formatter(make_formatter(log_format::text));
  logger->set_level(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

} // namespace solod
