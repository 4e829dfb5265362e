#include "stacks/intern_tables.h"

#include <sys/mman.h>

namespace memnb {

namespace {

void* reserve(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

inline size_t mix(uint64_t a, uint64_t b) {
  uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull) * 0xC2B2AE3D27D4EB4Full;
  return static_cast<size_t>(h ^ (h >> 29));
}

}  // namespace

bool StackTable::init(size_t slot_capacity, size_t node_capacity) {
  slots_ = static_cast<std::atomic<uint32_t>*>(reserve(slot_capacity * sizeof(uint32_t)));
  nodes_ = static_cast<StackNode*>(reserve(node_capacity * sizeof(StackNode)));
  if (!slots_ || !nodes_) return false;
  slot_mask_ = slot_capacity - 1;
  node_capacity_ = node_capacity;
  next_id_.store(1, std::memory_order_relaxed);
  overflowed_.store(false, std::memory_order_relaxed);
  return true;
}

void StackTable::destroy() {
  if (slots_) munmap(slots_, (slot_mask_ + 1) * sizeof(uint32_t));
  if (nodes_) munmap(nodes_, node_capacity_ * sizeof(StackNode));
  slots_ = nullptr;
  nodes_ = nullptr;
}

uint32_t StackTable::intern(uint32_t parent, uint64_t ip) {
  size_t at = mix(ip, parent) & slot_mask_;
  uint32_t mine = 0;
  for (size_t probes = 0; probes <= slot_mask_; ++probes, at = (at + 1) & slot_mask_) {
    uint32_t id = slots_[at].load(std::memory_order_acquire);
    if (id == 0) {
      if (mine == 0) {
        // Claim an id and publish the node before the slot, so a reader that finds
        // the slot always sees a complete node.
        mine = next_id_.fetch_add(1, std::memory_order_relaxed);
        if (mine >= node_capacity_ || mine > (3 * (slot_mask_ + 1)) / 4) {
          overflowed_.store(true, std::memory_order_relaxed);
          return 0;
        }
        nodes_[mine].parent = parent;
        nodes_[mine].ip.store(ip, std::memory_order_release);
      }
      if (slots_[at].compare_exchange_strong(id, mine, std::memory_order_acq_rel)) return mine;
      // Lost the race for this slot: id now holds the winner; compare below.
    }
    const StackNode& n = nodes_[id];
    if (n.ip.load(std::memory_order_acquire) == ip && n.parent == parent) {
      // Our claimed id (if any) stays as an unreferenced node; harmless.
      return id;
    }
  }
  overflowed_.store(true, std::memory_order_relaxed);
  return 0;
}

bool TypeTable::init(size_t slot_capacity, size_t type_capacity) {
  slots_ = static_cast<Slot*>(reserve(slot_capacity * sizeof(Slot)));
  types_ = static_cast<TypeEntry*>(reserve(type_capacity * sizeof(TypeEntry)));
  if (!slots_ || !types_) return false;
  slot_mask_ = slot_capacity - 1;
  type_capacity_ = type_capacity;
  next_index_.store(0, std::memory_order_relaxed);
  return true;
}

void TypeTable::destroy() {
  if (slots_) munmap(slots_, (slot_mask_ + 1) * sizeof(Slot));
  if (types_) munmap(types_, type_capacity_ * sizeof(TypeEntry));
  slots_ = nullptr;
  types_ = nullptr;
}

int64_t TypeTable::intern(uint64_t class_id) {
  size_t at = mix(class_id, 0) & slot_mask_;
  for (size_t probes = 0; probes <= slot_mask_; ++probes, at = (at + 1) & slot_mask_) {
    Slot& s = slots_[at];
    uint64_t key = s.key.load(std::memory_order_acquire);
    if (key == 0) {
      if (s.key.compare_exchange_strong(key, class_id, std::memory_order_acq_rel)) {
        // A separate counter keeps indexes dense whatever the slot order.
        uint32_t index = next_index_.fetch_add(1, std::memory_order_relaxed);
        if (index >= type_capacity_) return -1;
        types_[index].class_id.store(class_id, std::memory_order_release);
        s.index_plus_one.store(index + 1, std::memory_order_release);
        return index;
      }
    }
    if (key == class_id) {
      uint32_t v;
      // The owner publishes the index right after claiming the key.
      while ((v = s.index_plus_one.load(std::memory_order_acquire)) == 0) {
      }
      return static_cast<int64_t>(v) - 1;
    }
  }
  return -1;
}

}  // namespace memnb
