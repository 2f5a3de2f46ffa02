// buffer.h - pooled receive buffers and the slices that point into them.
//
// Received bytes land once in a Buffer taken from a BufferPool and are never
// moved again: the LMTP machine keeps a message body as a chain of Slices,
// each holding a reference to its Buffer, until the body is handed on or
// dropped. A Buffer goes back to its pool when the last reference goes.
// Everything here is single-threaded (one reactor), so counts are plain.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace listgate::io {

class BufferPool;

class Buffer {
 public:
  char* data() { return data_; }
  const char* data() const { return data_; }
  uint32_t capacity() const { return capacity_; }
  // Index of this buffer in its pool; io_uring uses it as the buffer id.
  uint16_t id() const { return id_; }
  uint32_t refs() const { return refs_; }

 private:
  friend class BufferPool;
  friend class BufferRef;
  BufferPool* pool_ = nullptr;
  char* data_ = nullptr;
  uint32_t capacity_ = 0;
  uint32_t refs_ = 0;
  uint16_t id_ = 0;
};

// Counted reference to a Buffer; releasing the last one returns it to the pool.
class BufferRef {
 public:
  BufferRef() = default;
  explicit BufferRef(Buffer* b) : b_(b) {
    if (b_) ++b_->refs_;
  }
  BufferRef(const BufferRef& o) : BufferRef(o.b_) {}
  BufferRef(BufferRef&& o) noexcept : b_(std::exchange(o.b_, nullptr)) {}
  BufferRef& operator=(BufferRef o) noexcept {
    std::swap(b_, o.b_);
    return *this;
  }
  ~BufferRef() { reset(); }
  void reset();
  Buffer* get() const { return b_; }
  Buffer* operator->() const { return b_; }
  explicit operator bool() const { return b_ != nullptr; }

 private:
  Buffer* b_ = nullptr;
};

// A range of bytes inside one buffer, keeping the buffer alive.
struct Slice {
  BufferRef buffer;
  uint32_t offset = 0;
  uint32_t length = 0;

  const char* data() const { return buffer->data() + offset; }
  std::string_view view() const { return {data(), length}; }
  bool empty() const { return length == 0; }
  // The part from byte `from` on, `n` bytes long (same buffer, another reference).
  Slice sub(uint32_t from, uint32_t n) const { return Slice{buffer, offset + from, n}; }
  Slice sub(uint32_t from) const { return sub(from, length - from); }
};

using SliceChain = std::vector<Slice>;

inline size_t total_length(const SliceChain& chain) {
  size_t n = 0;
  for (const Slice& s : chain) n += s.length;
  return n;
}

// Fixed-size buffers carved from large blocks. The pool grows on demand (a
// retained body must never starve the receive path) and hands out buffers
// in LIFO order so recently used memory stays in cache.
class BufferPool {
 public:
  static constexpr uint32_t kDefaultBufferSize = 16 * 1024;
  static constexpr uint32_t kMaxBuffers = 65536;  // ids are 16-bit (io_uring bid)

  explicit BufferPool(uint32_t buffer_size = kDefaultBufferSize, uint32_t buffers_per_block = 64);
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // A free buffer, or null when kMaxBuffers are all in use.
  BufferRef acquire();
  // The buffer with this id (for io_uring completions, which name buffers by id).
  Buffer* by_id(uint16_t id) { return buffers_[id]; }
  uint32_t buffer_size() const { return buffer_size_; }
  size_t allocated() const { return buffers_.size(); }
  size_t free_count() const { return free_.size(); }
  size_t in_use() const { return buffers_.size() - free_.size(); }

  // Called when a buffer's last reference goes. A listener (the io_uring
  // backend) may take it back for its ring instead of the free list.
  using ReturnHook = bool (*)(void* ctx, Buffer* b);
  void set_return_hook(ReturnHook hook, void* ctx) {
    hook_ = hook;
    hook_ctx_ = ctx;
  }
  // Makes a buffer free again without going through the hook.
  void put_free(Buffer* b) { free_.push_back(b); }
  // Marks a free-listed buffer as taken by its owner outside any BufferRef.
  Buffer* take_free();

 private:
  friend class BufferRef;
  void give_back(Buffer* b);
  bool grow();

  uint32_t buffer_size_;
  uint32_t per_block_;
  std::vector<char*> blocks_;
  std::vector<Buffer*> buffers_;
  std::vector<Buffer*> free_;
  ReturnHook hook_ = nullptr;
  void* hook_ctx_ = nullptr;
};

inline void BufferRef::reset() {
  if (b_ && --b_->refs_ == 0) b_->pool_->give_back(b_);
  b_ = nullptr;
}

// Copies bytes into pooled buffers as a chain (for tests and generated data).
SliceChain copy_into_pool(BufferPool& pool, std::string_view bytes);

}  // namespace listgate::io
