// prebuilt_bytes.h - bytes built once and sent many times, without copies.
//
// Each item gets a buffer of its own from a private io::BufferPool and is
// handed out as an io::Slice, so Connection::write(Slice) queues it by
// reference (a reference count, no copy, no allocation). The slices keep
// the pool's buffers alive, so a PrebuiltBytes must outlive every
// connection that may still hold one of its slices (the reactor).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "listgate/base/result.h"
#include "listgate/io/buffer.h"

namespace listgate::loadbench {

class PrebuiltBytes {
 public:
  PrebuiltBytes() = default;
  PrebuiltBytes(PrebuiltBytes&&) noexcept = default;
  // The old slices go before the old pool does.
  PrebuiltBytes& operator=(PrebuiltBytes&& other) noexcept {
    slices_.clear();
    slices_ = std::move(other.slices_);
    pool_ = std::move(other.pool_);
    return *this;
  }
  static Result<PrebuiltBytes> build(const std::vector<std::string>& items);

  const io::Slice& operator[](size_t i) const { return slices_[i]; }
  size_t size() const { return slices_.size(); }

 private:
  std::unique_ptr<io::BufferPool> pool_;  // declared first: destroyed after the slices
  std::vector<io::Slice> slices_;
};

}  // namespace listgate::loadbench
