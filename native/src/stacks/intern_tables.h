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
  uint32_t next_sibling;
  // The child list in one word, changed by one compare-and-swap: the newest child's id (0: none)
  // in the low half, the number of children listed (at most StackTable::kListChildren) above it.
  // One word, so that a lookup that finds the count full sees the whole list, and linking a
  // child is one locked instruction (three before: the place, the link, the count of finished
  // links; on deep, where most allocations of a first pass add nodes, they were three quarters
  // of the intern's samples).
  // Bit 48: the node was linked (or tried to be) by a compare-and-swap of its own, as one made
  // alone or the first of a chain; such a node can lose its race and stay unlinked. The others of
  // a chain are linked exactly when the chain's first node is, so a lookup may take one found next
  // to its parent (StackTable::find_edge) without searching the parent's list.
  std::atomic<uint64_t> children;
  static constexpr uint64_t kLinkedAlone = uint64_t{1} << 48;
  static uint32_t first_child(uint64_t children) { return static_cast<uint32_t>(children); }
  static uint32_t listed(uint64_t children) { return static_cast<uint32_t>(children >> 32) & 0xFFFF; }
  uint32_t first_child() const { return first_child(children.load(std::memory_order_acquire)); }
};

// A thread's memo of recent edges ((parent, ip) -> id never changes once made), in front
// of the child lists: a frame that calls many functions is found in one probe.
struct StackCache {
  static constexpr size_t kSlots = 4096;
  struct Slot {
    uint64_t ip;
    uint32_t parent;
    uint32_t id;  // 0: empty
  };
  Slot slots[kSlots];
  uint64_t created = 0;  // nodes this thread added to the tree
  // A thread whose edges are too many for the memo (a deep recursion over millions of stacks)
  // misses it nearly always, and the miss is a load from memory: after a window of lookups with
  // fewer than one hit in 16 the memo is left alone for the next kSkip lookups (its entries stay
  // true: an edge's node never changes), then tried again.
  static constexpr uint32_t kWindow = 4096, kSkip = 1u << 16;
  uint32_t probes = 0, hits = 0, skip = 0;
};

// The prefix tree of stacks. A node keeps its first children in a list (consecutive stacks
// of a thread share a path, and a node's children are made close to it, so a lookup
// touches memory that is usually in cache); the children of a node that calls many
// functions go on to a hash index that grows by generations. Nodes live in segments
// reserved as ids reach them, so the tree grows until 2^32 nodes instead of filling up.
// Lookups take no lock; adding a child to a wide node (once per such edge) takes the
// index's spin lock, so that every edge has exactly one id.
class StackTable {
 public:
  static constexpr uint32_t kListChildren = 8;
  static constexpr int kIndexGenerations = 20;
  static constexpr unsigned kFirstIndexBits = 14;
  static constexpr unsigned kSegmentBits = 18;
  static constexpr size_t kSegmentNodes = size_t{1} << kSegmentBits;
  static constexpr size_t kMaxSegments = (size_t{1} << 32) / kSegmentNodes;

  bool init();
  void destroy();

  // Returns the node id (>= 1) for (parent, ip), or 0 when no memory could be had for it.
  uint32_t intern(uint32_t parent, uint64_t ip, StackCache* cache = nullptr);
  // The path of n edges from parent, ips outermost first: nodes[i] gets the node of ips[0..i]
  // below parent. Returns how many were interned (n, or fewer when no memory could be had).
  // The same ids as n calls of intern; the edges missing from the tree are made together (see
  // new_chain). first_new: the first i whose node this call made (-1: none).
  int intern_path(uint32_t parent, const uint64_t* ips, int n, uint32_t* nodes, StackCache* cache, int* first_new);

  // Number of ids handed out (ids are 1..count). An id below count may be momentarily
  // unpublished (null from find, or its ip still 0) while its inserter finishes.
  uint32_t count() const { return next_id_.load(std::memory_order_acquire) - 1; }
  const StackNode* find(uint32_t id) const {
    StackNode* segment = segments_ ? segments_[id >> kSegmentBits].load(std::memory_order_acquire) : nullptr;
    return segment ? &segment[id & (kSegmentNodes - 1)] : nullptr;
  }
  const StackNode& node(uint32_t id) const { return *find(id); }
  bool overflowed() const { return overflowed_.load(std::memory_order_relaxed); }
  size_t segments_reserved() const { return segments_used_.load(std::memory_order_relaxed); }
  // From a thread off the hot path (the writer, every cycle): reserves the segments ahead of the
  // ids with their pages already committed, so the threads that fill them take no page fault per
  // 4 KiB of nodes (a deep recording's many new stacks faulted ~25,000 times per 4M nodes on the
  // allocating thread). The next one once the ids are 1/16 into theirs, and the one after it too
  // past half way: a deep recording's first pass makes a segment's 2^18 nodes in ~20 ms, so one
  // made ready at half way, in a cycle of 10 ms, was often late (new_chain's page faults, 2.7% of
  // the allocating thread). A recording of few stacks reserves none ahead.
  void prepare_segments();

 private:
  StackNode* segment_for(uint32_t id);
  // A node this thread claimed and has not linked yet.
  StackNode& node_for_write(uint32_t id) { return *const_cast<StackNode*>(find(id)); }
  uint32_t find_child(uint32_t head, uint32_t stop, uint64_t ip) const;
  uint32_t new_node(uint32_t parent, uint64_t ip, uint32_t next_sibling);
  // The memo's slot for the edge (null when the memo is off or resting); hit: it holds the edge.
  static StackCache::Slot* memo_probe(uint32_t parent, uint64_t ip, StackCache* cache, bool* hit);
  // The edge's node if it is in the tree, else 0; list: the parent's list word as searched.
  uint32_t find_edge(uint32_t parent, uint64_t ip, uint64_t* list) const;
  // Links the edge under parent (list: its list word as searched), with `mine` (a node made for
  // it, unlinked) or a new node (mine 0). Returns the edge's node: ours (linked true) or the one
  // another thread linked first. 0 when no memory could be had.
  uint32_t link(uint32_t parent, uint64_t ip, uint64_t list, uint32_t mine, bool* linked);
  // Nodes for the path ips[0..n) below parent, each the only child of the one before, with
  // consecutive ids claimed at once: returns the first (unlinked), 0 when out of ids or memory.
  // The ids are published in order right away (the writer waits on none).
  uint32_t new_chain(uint32_t parent, const uint64_t* ips, int n);
  uint32_t index_find(uint32_t parent, uint64_t ip) const;
  // With index_lock_ held; `made`: a node for the edge already claimed (unlinked), 0 for a new one.
  uint32_t index_insert(uint32_t parent, uint64_t ip, uint32_t made);

  std::atomic<StackNode*>* segments_ = nullptr;
  std::atomic<std::atomic<uint32_t>*> index_[kIndexGenerations] = {};
  std::atomic<uint32_t> index_used_[kIndexGenerations] = {};
  std::atomic<int> index_newest_{-1};
  std::atomic<bool> index_lock_{false};
  std::atomic<uint32_t> next_id_{1};
  std::atomic<size_t> segments_used_{0};
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
