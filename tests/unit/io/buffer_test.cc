// buffer_test.cc - pooled buffers go back to the pool when the last slice goes.
#include <gtest/gtest.h>

#include "listgate/io/buffer.h"

namespace listgate::io {
namespace {

TEST(BufferPool, LastReferenceReturnsTheBuffer) {
  BufferPool pool(1024, 4);
  BufferRef a = pool.acquire();
  ASSERT_TRUE(a);
  EXPECT_EQ(pool.in_use(), 1u);
  {
    Slice s{a, 0, 10};
    Slice t = s.sub(2, 3);
    a.reset();
    EXPECT_EQ(pool.in_use(), 1u);  // slices still hold it
    EXPECT_EQ(t.offset, 2u);
    EXPECT_EQ(t.length, 3u);
  }
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(BufferPool, GrowsPastOneBlockAndReusesLifo) {
  BufferPool pool(256, 2);
  std::vector<BufferRef> held;
  for (int i = 0; i < 5; ++i) held.push_back(pool.acquire());
  EXPECT_EQ(pool.allocated(), 6u);  // three blocks of two
  Buffer* last = held.back().get();
  held.pop_back();
  EXPECT_EQ(pool.acquire().get(), last);
}

TEST(BufferPool, ReturnHookCanKeepABuffer) {
  BufferPool pool(256, 2);
  struct Ctx {
    int calls = 0;
    Buffer* kept = nullptr;
  } ctx;
  pool.set_return_hook(
      [](void* p, Buffer* b) {
        auto* c = static_cast<Ctx*>(p);
        ++c->calls;
        c->kept = b;
        return true;
      },
      &ctx);
  size_t free_before;
  {
    BufferRef r = pool.acquire();
    free_before = pool.free_count();
  }
  EXPECT_EQ(ctx.calls, 1);
  EXPECT_NE(ctx.kept, nullptr);
  EXPECT_EQ(pool.free_count(), free_before);  // the hook took it, not the free list
}

TEST(BufferPool, CopyIntoPoolSpansBuffers) {
  BufferPool pool(8, 4);
  SliceChain chain = copy_into_pool(pool, "0123456789abcdefXYZ");
  ASSERT_EQ(chain.size(), 3u);
  EXPECT_EQ(chain[0].view(), "01234567");
  EXPECT_EQ(chain[2].view(), "XYZ");
  EXPECT_EQ(total_length(chain), 19u);
}

}  // namespace
}  // namespace listgate::io
