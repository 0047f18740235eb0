#pragma once
/// @brief toml++, as every solod file must include it (one definition of its inline parser).

// toml++ 3.3 asserts, in builds without NDEBUG (the sanitized one), that a
// table header's key starts with a key character before it checks; "[=" or
// "[\x19" abort there (found by fuzz.config). Its release path reports the
// parse error properly, so builds with assertions take that path too. Every
// file that includes toml++ must do so through this header, or the parser's
// inline functions differ between files.
#ifndef TOML_ASSERT
#define TOML_ASSERT(expr) static_cast<void>(0)
#endif
#include <toml++/toml.h>
