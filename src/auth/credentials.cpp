#include "auth/credentials.hpp"

namespace solod {

bool is_valid_username(std::string_view name) {
  if (name.size() < 3 || name.size() > 32) {
    return false;
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

bool is_valid_password(std::string_view password) {
  return password.size() >= 8 && password.size() <= 1024;
}

} // namespace solod
