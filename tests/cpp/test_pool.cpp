#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <thread>
#include <vector>

#include "core/allocator.h"
#include "core/image.h"
#include "core/pool.h"
#include "core/tensor.h"

namespace vas {
namespace {

// Counts calls and fails the i-th allocation (1-based; 0 = never), in the spirit of ncnn's
// test allocator, so every out-of-memory path can be driven on purpose.
class FailingAllocator final : public Allocator {
 public:
  explicit FailingAllocator(int fail_at = 0) : fail_at_(fail_at) {}
  void* allocate(size_t bytes, size_t alignment) noexcept override {
    const int n = ++allocs_;
    if (n == fail_at_) return nullptr;
    ++live_;
    return default_allocator()->allocate(bytes, alignment);
  }
  void deallocate(void* p, size_t bytes, size_t alignment) noexcept override {
    ++frees_;
    --live_;
    default_allocator()->deallocate(p, bytes, alignment);
  }
  int allocs() const { return allocs_; }
  int frees() const { return frees_; }
  int live() const { return live_; }

 private:
  int fail_at_;
  std::atomic<int> allocs_{0}, frees_{0}, live_{0};
};

std::unique_ptr<Pool> make_block_pool(size_t block, size_t n, Allocator* a = nullptr,
                                      bool locked = true) {
  auto r = Pool::create_block_pool("test", block, n, locked, a);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return std::move(r).value();
}

TEST(Pool, BlockPoolReusesBlocksAndCountsHitsAndMisses) {
  FailingAllocator alloc;
  auto pool = make_block_pool(1000, 2, &alloc);
  void* first = nullptr;
  {
    auto a = pool->acquire(1000);
    ASSERT_TRUE(a.is_ok());
    first = a->data();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % 64, 0u);
    EXPECT_EQ(a->size(), 1000u);
    EXPECT_EQ(a->capacity(), 1000u);
    EXPECT_EQ(pool->stats().in_use_buffers, 1u);
  }
  auto b = pool->acquire(10);
  ASSERT_TRUE(b.is_ok());
  EXPECT_EQ(b->data(), first);  // the same block came back
  PoolStats s = pool->stats();
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.failed, 0u);
  EXPECT_EQ(s.capacity_bytes, 2000u);
  EXPECT_EQ(s.in_use_bytes, 1000u);
  EXPECT_EQ(alloc.allocs(), 1);
}

TEST(Pool, ExhaustionIsAStatusAndCapacityIsHard) {
  auto pool = make_block_pool(256, 2);
  auto a = pool->acquire(256);
  auto b = pool->acquire(256);
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  auto c = pool->acquire(1);
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().code(), StatusCode::kPoolExhausted);
  EXPECT_NE(c.status().message().find("pool 'test' exhausted"), std::string::npos);
  auto big = pool->acquire(257);
  EXPECT_EQ(big.status().code(), StatusCode::kPoolExhausted);
  EXPECT_NE(big.status().message().find("larger than its largest block"), std::string::npos);
  PoolStats s = pool->stats();
  EXPECT_EQ(s.failed, 2u);
  EXPECT_EQ(s.high_water_bytes, 512u);
  EXPECT_EQ(s.reserved_bytes, 512u);
}

TEST(Pool, RefCountedBufferReturnsWhenLastCopyGoes) {
  auto pool = make_block_pool(64, 1);
  auto a = pool->acquire(64);
  ASSERT_TRUE(a.is_ok());
  PoolBuffer copy = a.value();
  EXPECT_EQ(copy.use_count(), 2);
  PoolBuffer moved = std::move(a.value());
  EXPECT_EQ(moved.use_count(), 2);
  moved.reset();
  EXPECT_EQ(pool->outstanding(), 1u);
  EXPECT_FALSE(pool->check_idle().is_ok());
  copy = PoolBuffer();
  EXPECT_EQ(pool->outstanding(), 0u);
  EXPECT_TRUE(pool->check_idle().is_ok());
}

TEST(Pool, ArenaPicksSizeClassesAndTrimsOtherClassesAtTheBound) {
  PoolConfig cfg;
  cfg.name = "arena";
  cfg.min_block = 1024;
  cfg.max_block = 8192;
  cfg.capacity_bytes = 12288;
  cfg.thread_safe = false;
  auto r = Pool::create(cfg);
  ASSERT_TRUE(r.is_ok());
  auto& pool = *r.value();
  {
    auto small = pool.acquire(1000);
    ASSERT_TRUE(small.is_ok());
    EXPECT_EQ(small->capacity(), 1024u);
    auto mid = pool.acquire(3000);
    ASSERT_TRUE(mid.is_ok());
    EXPECT_EQ(mid->capacity(), 4096u);
  }
  EXPECT_EQ(pool.stats().reserved_bytes, 5120u);
  // 8192 does not fit next to the 5120 cached bytes, so the cache is given back first.
  auto large = pool.acquire(8000);
  ASSERT_TRUE(large.is_ok()) << large.status().message();
  EXPECT_EQ(large->capacity(), 8192u);
  EXPECT_LE(pool.stats().reserved_bytes, 12288u);
  auto again = pool.acquire(8000);
  EXPECT_EQ(again.status().code(), StatusCode::kPoolExhausted);
}

TEST(Pool, RejectsBadConfig) {
  PoolConfig cfg;
  cfg.capacity_bytes = 0;
  EXPECT_EQ(Pool::create(cfg).status().code(), StatusCode::kInvalidArgument);
  cfg.capacity_bytes = 1 << 20;
  cfg.alignment = 48;
  auto bad_align = Pool::create(cfg);
  EXPECT_EQ(bad_align.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad_align.status().message().find("alignment 48"), std::string::npos);
  cfg.alignment = 64;
  cfg.min_block = 0;
  EXPECT_EQ(Pool::create(cfg).status().code(), StatusCode::kInvalidArgument);
  cfg.min_block = 4096;
  cfg.max_block = 1024;
  EXPECT_EQ(Pool::create(cfg).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Pool::create_block_pool("x", 64, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Pool::create_block_pool("x", SIZE_MAX / 2, 4).status().code(),
            StatusCode::kInvalidArgument);
  auto pool = make_block_pool(64, 1);
  EXPECT_EQ(pool->acquire(0).status().code(), StatusCode::kInvalidArgument);
}

TEST(Pool, RejectsConfigsPastTheLimitsNamingTheField) {
  PoolConfig cfg;
  cfg.min_block = 4096;
  // (max_block near SIZE_MAX, which used to hang, is tested in a child process with a
  // deadline by tests/capi/test_capi_limits.c.)
  cfg.max_block = kMaxPoolBlockBytes + 1;
  cfg.capacity_bytes = 1 << 20;
  auto huge = Pool::create(cfg);
  EXPECT_EQ(huge.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(huge.status().message().find("max_block"), std::string::npos);
  cfg.capacity_bytes = SIZE_MAX;
  EXPECT_NE(Pool::create(cfg).status().message().find("max_block"), std::string::npos);
  cfg.max_block = kMaxPoolBlockBytes;
  EXPECT_TRUE(Pool::create(cfg).is_ok());
  cfg.max_block = 8192;
  cfg.capacity_bytes = 4096;
  EXPECT_NE(Pool::create(cfg).status().message().find("capacity_bytes"), std::string::npos);
  cfg.capacity_bytes = 1 << 20;
  cfg.alignment = size_t{1} << 62;
  EXPECT_NE(Pool::create(cfg).status().message().find("alignment"), std::string::npos);
  cfg.alignment = kMaxPoolAlignment;
  auto aligned = Pool::create(cfg);
  ASSERT_TRUE(aligned.is_ok()) << aligned.status().message();
  auto buf = aligned.value()->acquire(100);
  ASSERT_TRUE(buf.is_ok()) << buf.status().message();
  EXPECT_EQ(reinterpret_cast<uintptr_t>(buf->data()) % kMaxPoolAlignment, 0u);
}

TEST(Pool, AttachAndShareRecogniseOnlyBuffersStillOut) {
  auto pool = make_block_pool(256, 2);
  auto r = pool->acquire(256);
  ASSERT_TRUE(r.is_ok());
  void* data = r.value().detach();
  std::vector<unsigned char> foreign(512);
  EXPECT_FALSE(PoolBuffer::share(foreign.data() + 64));
  EXPECT_FALSE(PoolBuffer::attach(foreign.data() + 64));
  EXPECT_FALSE(PoolBuffer::share(static_cast<unsigned char*>(data) + 1));
  PoolBuffer again = PoolBuffer::share(data);
  ASSERT_TRUE(again);
  EXPECT_EQ(again.use_count(), 2);
  again.reset();
  PoolBuffer::attach(data).reset();  // the last reference: back to the cache
  EXPECT_EQ(pool->outstanding(), 0u);
  EXPECT_FALSE(PoolBuffer::share(data));  // cached, not out
  EXPECT_FALSE(PoolBuffer::attach(data));
  EXPECT_EQ(pool->outstanding(), 0u);
}

TEST(Pool, EveryAllocatorFailureIsReportedAndRecoverable) {
  // Fail the 1st, 2nd, 3rd allocation in turn: each failing acquire reports kOutOfMemory,
  // leaves the pool consistent, and later acquisitions succeed.
  for (int i = 1; i <= 3; ++i) {
    FailingAllocator alloc(i);
    auto pool = make_block_pool(128, 3, &alloc);
    std::vector<PoolBuffer> held;
    int failures = 0;
    for (int k = 0; k < 4 && held.size() < 3; ++k) {
      auto r = pool->acquire(128);
      if (r.is_ok()) {
        held.push_back(std::move(r).value());
      } else {
        EXPECT_EQ(r.status().code(), StatusCode::kOutOfMemory) << r.status().message();
        ++failures;
      }
    }
    EXPECT_EQ(failures, 1) << "fail_at " << i;
    EXPECT_EQ(held.size(), 3u);
    EXPECT_EQ(pool->stats().failed, 1u);
    held.clear();
    pool.reset();
    EXPECT_EQ(alloc.live(), 0) << "fail_at " << i;
  }
  FailingAllocator alloc(1);
  auto pool = make_block_pool(128, 3, &alloc);
  EXPECT_EQ(pool->reserve(128, 2).code(), StatusCode::kOutOfMemory);
}

TEST(Pool, DestroyWithBuffersOutIsReportedAndSafe) {
  FailingAllocator alloc;
  PoolBuffer survivor;
  {
    auto pool = make_block_pool(4096, 4, &alloc);
    ASSERT_TRUE(pool->reserve(4096, 2).is_ok());
    auto r = pool->acquire(4096);
    ASSERT_TRUE(r.is_ok());
    survivor = std::move(r).value();
    EXPECT_EQ(pool->check_idle().code(), StatusCode::kRuntimeError);
    ::testing::internal::CaptureStderr();
    pool.reset();
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("pool 'test' destroyed with 1 buffer(s) still out"), std::string::npos);
  }
  EXPECT_EQ(alloc.live(), 1);  // the cached block went back; the survivor still lives
  static_cast<uint8_t*>(survivor.data())[4095] = 7;  // still valid memory
  survivor.reset();
  EXPECT_EQ(alloc.live(), 0);
}

TEST(Pool, LockedPoolIsSharedBetweenThreads) {
  auto pool = make_block_pool(512, 8);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        auto r = pool->acquire(512);
        if (r.is_ok()) {
          static_cast<uint8_t*>(r->data())[0] = 1;
          ++ok;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  PoolStats s = pool->stats();
  EXPECT_EQ(s.in_use_buffers, 0u);
  EXPECT_LE(s.high_water_bytes, 4u * 512u);
  EXPECT_EQ(static_cast<uint64_t>(ok.load()), s.hits + s.misses);
  EXPECT_LE(s.misses, 4u);
}

TEST(Pool, TensorAndImageBorrowPoolBlocks) {
  auto pool = make_block_pool(1 << 20, 2);
  Tensor t;
  ASSERT_TRUE(t.reshape_from_pool(*pool, DataType::kFloat32, {1, 3, 64, 64}).is_ok());
  EXPECT_TRUE(t.is_pooled());
  void* p = t.data();
  ASSERT_TRUE(t.reshape_from_pool(*pool, DataType::kFloat32, {1, 3, 32, 32}).is_ok());
  EXPECT_EQ(t.data(), p);  // fits: same block, no new acquire
  EXPECT_EQ(pool->stats().misses, 1u);
  EXPECT_EQ(t.byte_size(), 3u * 32 * 32 * 4);

  auto img = PooledImage::allocate(*pool, PixelFormat::kNV12, 101 + 1, 50, 64);
  ASSERT_TRUE(img.is_ok()) << img.status().message();
  EXPECT_EQ(img->view.strides[0], 128);
  EXPECT_EQ(img->view.planes[1], img->view.planes[0] + 128 * 50);
  EXPECT_TRUE(img->view.validate().is_ok());
  auto odd = PooledImage::allocate(*pool, PixelFormat::kNV12, 101, 50);
  EXPECT_EQ(odd.status().code(), StatusCode::kInvalidArgument);
  auto none = PooledImage::allocate(*pool, PixelFormat::kBGR24, 4096, 4096);
  EXPECT_EQ(none.status().code(), StatusCode::kPoolExhausted);
}

}  // namespace
}  // namespace vas
