// prefault.cc - see prefault.h.
#include "prefault.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

namespace listgate::table {

namespace {

#ifndef MADV_POPULATE_WRITE
constexpr int MADV_POPULATE_WRITE = 23;  // Linux 5.14; older headers lack it
#endif

// Below this, faulting is as cheap as asking.
constexpr size_t kWorthwhileBytes = size_t{1} << 20;

}  // namespace

void prefault_for_writing(char* data, size_t size) noexcept {
  if (data == nullptr || size < kWorthwhileBytes) return;
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  // madvise() wants whole pages: the ones entirely inside the buffer.
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + page - 1) & ~(page - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + size) & ~(page - 1);
  if (end <= begin) return;
  (void)::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
}

}  // namespace listgate::table
