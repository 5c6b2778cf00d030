// A caching CPU allocator for LibTorch tensors.
//
// glibc returns large freed blocks to the kernel (munmap, heap trimming), so
// every training step or sampling step touches its activations' pages afresh:
// hundreds of thousands of page faults per step for the seed UNet, the larger
// share of a step's time on a virtual machine. This allocator keeps freed blocks
// of at least kMinBlock bytes, up to a byte limit, and hands them out again, as
// PyTorch's CUDA caching allocator does for device memory. Smaller requests go to
// LibTorch's default CPU allocator unchanged.
//
// The cache maps its blocks itself (mmap) and unmaps the blocks it gives back, so
// that a block given back leaves the process. Through malloc they did not: a freed
// mmap-served block raises glibc's dynamic mmap threshold (up to 32 MiB), after which
// malloc serves blocks below it from its heaps and keeps their pages after free
// wherever a live small allocation sits between them (a server grew by 500 MB so).
#include "common.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace {

constexpr size_t kMinBlock = 32 * 1024;  // smaller requests bypass the cache
constexpr size_t kPage = 4096;            // cached sizes are rounded up to pages

using Clock = std::chrono::steady_clock;

struct Block {
  void* data;
  size_t size;
  std::list<Block*>::iterator idle_pos;  // position in the idle LRU list while cached
  Clock::time_point freed_at;            // when it last became idle
};

class CachingCPUAllocator final : public c10::Allocator {
 public:
  explicit CachingCPUAllocator(size_t limit) : limit_(limit) {}

  // LibTorch 1.x declares `allocate(size_t) const`, LibTorch 2.3+ `allocate(size_t)`:
  // one of these two overrides the base's, whichever it is.
  c10::DataPtr allocate(size_t n) { return allocate_block(n); }
  c10::DataPtr allocate(size_t n) const { return allocate_block(n); }

  // LibTorch 2.x declares this pure virtual; LibTorch 1.x has no such member.
  void copy_data(void* dest, const void* src, std::size_t count) const {
    if (count > 0) std::memcpy(dest, src, count);
  }

  c10::DataPtr allocate_block(size_t n) const {
    if (n < kMinBlock || n > SIZE_MAX - kPage) return fallback()->allocate(n);
    const size_t size = (n + kPage - 1) / kPage * kPage;
    if (Block* b = take(size)) return wrap(b);
    auto block = std::make_unique<Block>(Block{nullptr, size, {}, {}});
    block->data = map(size);
    if (block->data == nullptr) {
      empty();  // give idle blocks back to the system, then try once more
      block->data = map(size);
      TORCH_CHECK(block->data != nullptr, "DefaultCPUAllocator: can't allocate memory: you tried to allocate ", size,
                  " bytes. Error code ", errno, " (", std::strerror(errno), ")");
    }
    Block* b = block.release();
    std::lock_guard<std::mutex> lock(mu_);
    ++misses_;
    allocated_ += size;
    live_.emplace(b->data, b);
    return wrap(b);
  }

  // Frees blocks from either path: LibTorch's raw_allocate/raw_deallocate need
  // the DataPtr context to equal the data pointer, so blocks are found by address.
  c10::DeleterFnPtr raw_deleter() const override { return &release; }

  void set_limit(size_t limit) {
    std::lock_guard<std::mutex> lock(mu_);
    limit_ = limit;
    evict_to(limit_);
  }

  void empty() const {
    std::lock_guard<std::mutex> lock(mu_);
    evict_to(0);
  }

  // Gives back the idle blocks freed at least `idle` ago; returns their bytes.
  size_t release_idle(Clock::duration idle) const {
    const Clock::time_point cutoff = Clock::now() - idle;
    std::lock_guard<std::mutex> lock(mu_);
    size_t released = 0;
    // idle_ is ordered by the time blocks were freed, most recent first.
    while (!idle_.empty() && idle_.back()->freed_at <= cutoff) {
      released += idle_.back()->size;
      evict_back();
    }
    return released;
  }

  void stats(dd_cpu_cache_stats* out) const {
    std::lock_guard<std::mutex> lock(mu_);
    out->limit = static_cast<int64_t>(limit_);
    out->min_block = static_cast<int64_t>(kMinBlock);
    out->cached_bytes = static_cast<int64_t>(cached_);
    out->cached_blocks = static_cast<int64_t>(idle_.size());
    out->allocated_bytes = static_cast<int64_t>(allocated_);
    out->hits = hits_;
    out->misses = misses_;
    out->evictions = evictions_;
  }

 private:
  static c10::Allocator* fallback() { return c10::GetDefaultCPUAllocator(); }

  c10::DataPtr wrap(Block* b) const { return {b->data, b->data, &release, c10::Device(c10::kCPU)}; }

  static void release(void* data);

  // An idle block of at least `size` bytes and at most 1/8 more, the smallest such size and,
  // among blocks of that size, the most recently freed; or nullptr.
  Block* take(size_t size) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_size_.lower_bound(size);
    if (it == by_size_.end() || it->first > size + size / 8) return nullptr;
    Block* b = it->second;
    live_.emplace(b->data, b);  // first: if it throws, the block stays idle
    by_size_.erase(it);
    idle_.erase(b->idle_pos);
    cached_ -= b->size;
    allocated_ += b->size;
    ++hits_;
    return b;
  }

  // Runs in tensor destructors, so it must not throw: if the bookkeeping cannot
  // grow (out of memory), the block goes back to the system instead.
  void give_back(void* data) const noexcept {
    std::unique_lock<std::mutex> lock(mu_);
    auto found = live_.find(data);
    if (found == live_.end()) {  // a block of the default allocator
      lock.unlock();
      fallback()->raw_deleter()(data);
      return;
    }
    Block* b = found->second;
    live_.erase(found);
    allocated_ -= b->size;
    if (b->size > limit_) {
      ++evictions_;
      lock.unlock();
      destroy(b);
      return;
    }
    evict_to(limit_ - b->size);
    try {
      // Before the blocks of equal size, so that take() hands out the most recently freed
      // one first: its pages are the likeliest to still be in the CPU's caches.
      auto in_map = by_size_.emplace_hint(by_size_.lower_bound(b->size), b->size, b);
      try {
        idle_.push_front(b);
      } catch (...) {
        by_size_.erase(in_map);
        throw;
      }
    } catch (...) {
      ++evictions_;
      lock.unlock();
      destroy(b);
      return;
    }
    b->idle_pos = idle_.begin();
    b->freed_at = Clock::now();
    cached_ += b->size;
  }

  // Frees least recently cached blocks until at most `target` idle bytes remain; mu_ held.
  void evict_to(size_t target) const {
    while (cached_ > target && !idle_.empty()) evict_back();
  }

  // Frees the least recently cached idle block; mu_ held, idle_ not empty.
  void evict_back() const {
    Block* b = idle_.back();
    idle_.pop_back();
    auto range = by_size_.equal_range(b->size);
    for (auto it = range.first; it != range.second; ++it) {
      if (it->second == b) {
        by_size_.erase(it);
        break;
      }
    }
    cached_ -= b->size;
    ++evictions_;
    destroy(b);
  }

  // Page-aligned, zeroed memory of `size` bytes (a multiple of the page), or nullptr.
  static void* map(size_t size) {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  }

  static void destroy(Block* b) {
    munmap(b->data, b->size);
    delete b;
  }

  mutable std::mutex mu_;
  size_t limit_;
  mutable std::multimap<size_t, Block*> by_size_;
  mutable std::list<Block*> idle_;  // front: most recently freed
  mutable std::unordered_map<void*, Block*> live_;  // blocks handed out, by data pointer
  mutable size_t cached_ = 0;
  mutable size_t allocated_ = 0;
  mutable int64_t hits_ = 0, misses_ = 0, evictions_ = 0;
};

size_t default_limit() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return size_t{1} << 30;
  return static_cast<size_t>(pages) * static_cast<size_t>(page) / 4;
}

// Never destroyed: tensors may be freed during process exit, after static destructors.
CachingCPUAllocator& instance() {
  static auto* a = new CachingCPUAllocator(default_limit());
  return *a;
}

void CachingCPUAllocator::release(void* data) { instance().give_back(data); }

// Installed when the shim is loaded, above LibTorch's default (priority 0).
[[maybe_unused]] const bool installed = [] {
  c10::SetCPUAllocator(&instance(), 1);
  return true;
}();

}  // namespace

extern "C" {

void dd_cpu_cache_stats_get(dd_cpu_cache_stats* out) {
  DD_COUNT_CALL();
  if (out != nullptr) instance().stats(out);
}

void dd_cpu_cache_set_limit(dd_ctx* ctx, int64_t bytes) {
  DD_TRY(ctx, )
  DD_CHECK(bytes >= 0, "CPU cache limit must be >= 0 bytes, got " + std::to_string(bytes));
  instance().set_limit(static_cast<size_t>(bytes));
  DD_CATCH(ctx, )
}

void dd_cpu_cache_empty(void) {
  DD_COUNT_CALL();
  instance().empty();
}

int64_t dd_cpu_cache_release_idle(int64_t idle_ns) {
  DD_COUNT_CALL();
  const auto idle = std::chrono::nanoseconds(idle_ns > 0 ? idle_ns : 0);
  return static_cast<int64_t>(instance().release_idle(std::chrono::duration_cast<Clock::duration>(idle)));
}

}  // extern "C"
