#include "net/openapi_document.hpp"

namespace solod {

namespace {

// openapi_json.inc is generated into the build tree by CMakeLists.txt: the
// document as one raw string literal, R"openapi_json(...)openapi_json".
constexpr char document[] =
#include "openapi_json.inc"
  ;

} // namespace

std::string_view openapi_document() {
  return {document, sizeof document - 1};
}

} // namespace solod
