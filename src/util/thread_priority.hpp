#pragma once
/// @brief Lowers the CPU priority of the calling thread (Linux: its own nice value).

namespace solod {

/// Raises the calling thread's nice value by `increment` (0-19), so that the
/// scheduler prefers every normal thread of the process over it when the
/// cores are busy. Only this thread changes. False when the system refused.
bool lower_this_thread_priority(int increment);

/// The calling thread's nice value (for tests and logs).
int this_thread_niceness();

} // namespace solod
