#include "util/thread_name.hpp"

#include <pthread.h>

#include <algorithm>
#include <string>

namespace solod {

void name_this_thread(const char* base, std::size_t index) {
  auto name = std::string(base) + "-" + std::to_string(index);
  name.resize(std::min<std::size_t>(name.size(), 15));
  pthread_setname_np(pthread_self(), name.c_str());
}

} // namespace solod
