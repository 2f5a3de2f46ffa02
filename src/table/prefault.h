// prefault.h - backing a large buffer with memory in one request.
//
// The loader copies a table file of a hundred megabytes or more into a
// fresh buffer. Left to page faults, the kernel backs it one 4 KiB page at
// a time, and the faults cost more than the copy. One madvise() call backs
// the whole buffer at once. Best effort: on kernels without
// MADV_POPULATE_WRITE (before 5.14) it does nothing and the faults happen
// as before.
#pragma once

#include <cstddef>

namespace listgate::table {

// Asks the kernel to back [data, data + size) with writable memory now.
void prefault_for_writing(char* data, size_t size) noexcept;

}  // namespace listgate::table
