#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace rcbroker::protocol {

/// A reference-counted block of bytes, allocated in one piece with its header. Frames point
/// into blocks: a socket read fills one block and every whole frame in it shares that block, so
/// forwarding a frame copies a pointer, never the bytes, and reading costs no allocation per
/// frame. Blocks of `pooled_capacity` bytes are recycled through a small per-thread pool.
class byte_block {
public:
  /// Capacity of the blocks that socket reads fill (and that the pool keeps).
  static constexpr std::size_t pooled_capacity = 64 * 1024;

  /// Blocks a thread keeps for reuse.
  static constexpr std::size_t pool_limit = 16;

  /// A new block of at least `capacity` bytes, with one reference (the caller's).
  static byte_block* allocate(std::size_t capacity);

  /// A block of `pooled_capacity` bytes, from this thread's pool when it has one.
  static byte_block* allocate_pooled();

  char* data() noexcept { return reinterpret_cast<char*>(this + 1); }
  const char* data() const noexcept { return reinterpret_cast<const char*>(this + 1); }
  std::size_t capacity() const noexcept { return capacity_; }

  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }

  /// Drops a reference; the last one returns the block to the pool or frees it.
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1)
      recycle(this);
  }

  /// Whether the caller holds the only reference.
  bool unique() const noexcept { return refs_.load(std::memory_order_acquire) == 1; }

private:
  explicit byte_block(std::size_t capacity) noexcept : capacity_(capacity) {}
  static void recycle(byte_block* b) noexcept;

  std::atomic<std::uint32_t> refs_{1};
  std::uint32_t capacity_ = 0;
  std::uint64_t align_ = 0; // keeps data() 16-byte aligned
};

/// A counted reference to a byte_block (null when empty).
class block_ref {
public:
  block_ref() noexcept = default;

  /// Takes over the reference the caller holds on `b` (as `allocate` returns it).
  static block_ref adopt(byte_block* b) noexcept {
    block_ref r;
    r.block_ = b;
    return r;
  }

  block_ref(const block_ref& other) noexcept : block_(other.block_) {
    if (block_)
      block_->add_ref();
  }
  block_ref(block_ref&& other) noexcept : block_(std::exchange(other.block_, nullptr)) {}
  block_ref& operator=(block_ref other) noexcept {
    std::swap(block_, other.block_);
    return *this;
  }
  ~block_ref() {
    if (block_)
      block_->release();
  }

  byte_block* get() const noexcept { return block_; }
  byte_block* operator->() const noexcept { return block_; }
  explicit operator bool() const noexcept { return block_ != nullptr; }

  /// One past the last byte of the block.
  const char* end() const noexcept { return block_->data() + block_->capacity(); }

private:
  byte_block* block_ = nullptr;
};

} // namespace rcbroker::protocol
