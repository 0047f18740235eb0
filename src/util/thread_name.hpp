#pragma once
/// @brief Names the calling thread, so that top -H and perf tell the pools apart.

#include <cstddef>

namespace solod {

/// Names the calling thread "`base`-`index`" (Linux keeps the first 15 characters).
void name_this_thread(const char* base, std::size_t index);

} // namespace solod
