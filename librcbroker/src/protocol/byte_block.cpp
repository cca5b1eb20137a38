#include "rcbroker/protocol/byte_block.hpp"

#include <new>
#include <vector>

namespace rcbroker::protocol {

static_assert(sizeof(byte_block) % 16 == 0, "block data must stay 16-byte aligned");

namespace {

/// Free pooled blocks of this thread. A block released on another thread (a frame the middleman
/// serialised, say) joins that thread's pool.
thread_local bool pool_gone = false; // set as the thread's pool is destroyed at its exit

struct block_pool {
  std::vector<byte_block*> free;
  ~block_pool() {
    pool_gone = true;
    for (auto* b : free)
      ::operator delete(static_cast<void*>(b));
  }
};

thread_local block_pool pool;

} // namespace

byte_block* byte_block::allocate(std::size_t capacity) {
  void* memory = ::operator new(sizeof(byte_block) + capacity);
  return new (memory) byte_block(capacity);
}

byte_block* byte_block::allocate_pooled() {
  if (!pool_gone && !pool.free.empty()) {
    auto* b = pool.free.back();
    pool.free.pop_back();
    b->refs_.store(1, std::memory_order_relaxed);
    return b;
  }
  return allocate(pooled_capacity);
}

void byte_block::recycle(byte_block* b) noexcept {
  if (b->capacity_ == pooled_capacity && !pool_gone && pool.free.size() < pool_limit) {
    try {
      pool.free.push_back(b);
      return;
    } catch (...) {
      // no room in the pool's vector: free it instead
    }
  }
  b->~byte_block();
  ::operator delete(static_cast<void*>(b));
}

} // namespace rcbroker::protocol
