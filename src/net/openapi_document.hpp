#pragma once
/// @brief The OpenAPI 3.1 document of every route (docs/openapi.json), built into the binary.

#include <string_view>

namespace solod {

/// docs/openapi.json exactly as it was when the binary was built: CMake reads
/// it into a raw string literal at configure time (and configures again when
/// the file changes), so a server deployed without its source tree still
/// serves it at `GET /api/openapi.json`.
std::string_view openapi_document();

} // namespace solod
