#pragma once
/// @brief What every actor needs to fail closed: the text of what it threw, and
/// whether an exit reason is a failure.

#include <caf/error.hpp>
#include <caf/exit_reason.hpp>

#include <exception>
#include <string>

namespace solod {

/// The message of the exception in `x` ("unknown exception" when it is no std::exception).
inline std::string describe(const std::exception_ptr& x) {
  try {
    std::rethrow_exception(x);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

/// True when an actor ended with `reason` because something went wrong: not a
/// normal end, and not the server's own shutdown.
inline bool is_failure(const caf::error& reason) {
  return reason && reason != caf::exit_reason::user_shutdown;
}

} // namespace solod
