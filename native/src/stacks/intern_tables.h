// Lock-free interning for the hot path: stack prefix-tree nodes ((parent, ip) -> id)
// and runtime ClassIDs (-> dense type index). Ids are dense, so the writer thread
// publishes new entries by walking ids in order; each new edge is written once.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace memnb {

struct StackNode {
  std::atomic<uint64_t> ip;  // 0 until published
  uint32_t parent;
  uint32_t pad;
};

class StackTable {
 public:
  // Capacities are powers of two. Memory is reserved, committed as touched.
  bool init(size_t slot_capacity, size_t node_capacity);
  void destroy();

  // Returns the node id (>= 1) for (parent, ip), or 0 when the table is full.
  uint32_t intern(uint32_t parent, uint64_t ip);

  // Number of ids handed out (ids are 1..count). An id below count may be
  // momentarily unpublished (its ip still 0) while its inserter finishes.
  uint32_t count() const { return next_id_.load(std::memory_order_acquire) - 1; }
  const StackNode& node(uint32_t id) const { return nodes_[id]; }
  bool overflowed() const { return overflowed_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint32_t>* slots_ = nullptr;
  StackNode* nodes_ = nullptr;
  size_t slot_mask_ = 0;
  size_t node_capacity_ = 0;
  std::atomic<uint32_t> next_id_{1};
  std::atomic<bool> overflowed_{false};
};

struct TypeEntry {
  std::atomic<uint64_t> class_id;  // 0 until published
  std::atomic<uint8_t> size_checked;
};

class TypeTable {
 public:
  bool init(size_t slot_capacity, size_t type_capacity);
  void destroy();

  // Returns the dense index (>= 0) of class_id, or -1 when the table is full.
  int64_t intern(uint64_t class_id);

  uint32_t count() const { return next_index_.load(std::memory_order_acquire); }
  uint64_t class_id(uint32_t index) const { return types_[index].class_id.load(std::memory_order_acquire); }
  bool size_checked(int64_t index) const {
    return index >= 0 && types_[index].size_checked.load(std::memory_order_relaxed) != 0;
  }
  void mark_size_checked(int64_t index) {
    if (index >= 0) types_[index].size_checked.store(1, std::memory_order_relaxed);
  }

 private:
  struct Slot {
    std::atomic<uint64_t> key;
    std::atomic<uint32_t> index_plus_one;
    uint32_t pad;
  };
  Slot* slots_ = nullptr;
  TypeEntry* types_ = nullptr;
  size_t slot_mask_ = 0;
  size_t type_capacity_ = 0;
  std::atomic<uint32_t> next_index_{0};
};

}  // namespace memnb
