// buffer.cc - the receive buffer pool.
#include "listgate/io/buffer.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace listgate::io {

namespace {
constexpr size_t kBlockAlignment = 4096;
}  // namespace

BufferPool::BufferPool(uint32_t buffer_size, uint32_t buffers_per_block)
    : buffer_size_(buffer_size), per_block_(buffers_per_block) {}

BufferPool::~BufferPool() {
  for (Buffer* b : buffers_) delete b;
  for (char* block : blocks_) std::free(block);
}

bool BufferPool::grow() {
  if (buffers_.size() >= kMaxBuffers) return false;
  uint32_t n = per_block_;
  if (buffers_.size() + n > kMaxBuffers) n = static_cast<uint32_t>(kMaxBuffers - buffers_.size());
  // Page-aligned blocks: the kernel copies into them, and SEND_ZC pins them.
  // aligned_alloc wants a size that is a multiple of the alignment.
  size_t bytes = (size_t{n} * buffer_size_ + kBlockAlignment - 1) / kBlockAlignment * kBlockAlignment;
  char* block = static_cast<char*>(std::aligned_alloc(kBlockAlignment, bytes));
  if (block == nullptr) return false;
  blocks_.push_back(block);
  for (uint32_t i = 0; i < n; ++i) {
    auto* b = new Buffer();
    b->pool_ = this;
    b->data_ = block + size_t{i} * buffer_size_;
    b->capacity_ = buffer_size_;
    b->id_ = static_cast<uint16_t>(buffers_.size());
    buffers_.push_back(b);
    free_.push_back(b);
  }
  return true;
}

Buffer* BufferPool::take_free() {
  if (free_.empty() && !grow()) return nullptr;
  Buffer* b = free_.back();
  free_.pop_back();
  return b;
}

BufferRef BufferPool::acquire() {
  Buffer* b = take_free();
  return BufferRef(b);
}

void BufferPool::give_back(Buffer* b) {
  if (hook_ && hook_(hook_ctx_, b)) return;
  free_.push_back(b);
}

SliceChain copy_into_pool(BufferPool& pool, std::string_view bytes) {
  SliceChain chain;
  while (!bytes.empty()) {
    BufferRef buf = pool.acquire();
    if (!buf) break;
    uint32_t n = static_cast<uint32_t>(std::min<size_t>(bytes.size(), buf->capacity()));
    std::memcpy(buf->data(), bytes.data(), n);
    chain.push_back(Slice{std::move(buf), 0, n});
    bytes.remove_prefix(n);
  }
  return chain;
}

}  // namespace listgate::io
