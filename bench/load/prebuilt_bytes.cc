// prebuilt_bytes.cc - see prebuilt_bytes.h.
#include "prebuilt_bytes.h"

#include <algorithm>
#include <cstring>

namespace listgate::loadbench {

Result<PrebuiltBytes> PrebuiltBytes::build(const std::vector<std::string>& items) {
  if (items.size() > io::BufferPool::kMaxBuffers) return make_error("too many prebuilt items");
  size_t largest = 1;
  for (const std::string& s : items) largest = std::max(largest, s.size());
  if (largest > UINT32_MAX) return make_error("a prebuilt item is larger than 4 GiB");
  PrebuiltBytes out;
  // One block holding exactly the items (the pool's default would be 64).
  const auto count = static_cast<uint32_t>(std::max<size_t>(1, items.size()));
  out.pool_ = std::make_unique<io::BufferPool>(static_cast<uint32_t>(largest), count);
  out.slices_.reserve(items.size());
  for (const std::string& s : items) {
    io::BufferRef buffer = out.pool_->acquire();
    if (!buffer) return make_error("out of memory for the prebuilt messages");
    std::memcpy(buffer->data(), s.data(), s.size());
    out.slices_.push_back(io::Slice{std::move(buffer), 0, static_cast<uint32_t>(s.size())});
  }
  return out;
}

}  // namespace listgate::loadbench
