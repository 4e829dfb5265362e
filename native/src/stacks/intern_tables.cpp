#include "stacks/intern_tables.h"

#include <sched.h>
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

bool StackTable::init() {
  segments_ = static_cast<std::atomic<StackNode*>*>(reserve(kMaxSegments * sizeof(std::atomic<StackNode*>)));
  if (!segments_) return false;
  next_id_.store(1, std::memory_order_relaxed);
  segments_used_.store(0, std::memory_order_relaxed);
  overflowed_.store(false, std::memory_order_relaxed);
  return segment_for(0) != nullptr;  // node 0: the root, whose children are the outermost frames
}

void StackTable::destroy() {
  if (!segments_) return;
  for (size_t i = 0; i < kMaxSegments; ++i) {
    StackNode* segment = segments_[i].load(std::memory_order_relaxed);
    if (segment) munmap(segment, kSegmentNodes * sizeof(StackNode));
  }
  munmap(segments_, kMaxSegments * sizeof(std::atomic<StackNode*>));
  segments_ = nullptr;
}

// The segment holding id, reserved by whichever thread needs it first (an mmap once per
// 2^18 nodes; the pages are committed as the ids reach them).
StackNode* StackTable::segment_for(uint32_t id) {
  std::atomic<StackNode*>& slot = segments_[id >> kSegmentBits];
  StackNode* segment = slot.load(std::memory_order_acquire);
  if (segment) return segment;
  auto* fresh = static_cast<StackNode*>(reserve(kSegmentNodes * sizeof(StackNode)));
  if (!fresh) return nullptr;
  if (slot.compare_exchange_strong(segment, fresh, std::memory_order_acq_rel)) {
    segments_used_.fetch_add(1, std::memory_order_relaxed);
    return fresh;
  }
  munmap(fresh, kSegmentNodes * sizeof(StackNode));
  return segment;
}

void StackTable::prepare_segments() {
  if (!segments_) return;
  uint32_t id = next_id_.load(std::memory_order_relaxed);
  size_t current = id >> kSegmentBits, into = id & (kSegmentNodes - 1);
  size_t ahead = into >= kSegmentNodes / 2 ? 2 : into >= kSegmentNodes / 16 ? 1 : 0;
  for (size_t next = current + 1; next <= current + ahead && next < kMaxSegments; ++next) {
    std::atomic<StackNode*>& slot = segments_[next];
    StackNode* segment = slot.load(std::memory_order_acquire);
    if (segment) continue;
    size_t bytes = kSegmentNodes * sizeof(StackNode);
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) return;
    auto* fresh = static_cast<StackNode*>(p);
    if (slot.compare_exchange_strong(segment, fresh, std::memory_order_acq_rel))
      segments_used_.fetch_add(1, std::memory_order_relaxed);
    else
      munmap(fresh, bytes);
  }
}

uint32_t StackTable::find_child(uint32_t head, uint32_t stop, uint64_t ip) const {
  for (uint32_t id = head; id != stop; id = find(id)->next_sibling)
    if (find(id)->ip.load(std::memory_order_acquire) == ip) return id;
  return 0;
}

// Claims an id and publishes its node (ip set last), unlinked. 0 when out of ids or memory.
uint32_t StackTable::new_node(uint32_t parent, uint64_t ip, uint32_t next_sibling) {
  uint32_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
  StackNode* segment = id == 0 ? nullptr : segment_for(id);  // 0: the 2^32 ids wrapped
  if (!segment) {
    overflowed_.store(true, std::memory_order_relaxed);
    return 0;
  }
  StackNode& n = segment[id & (kSegmentNodes - 1)];
  n.parent = parent;
  n.next_sibling = next_sibling;
  n.children.store(StackNode::kLinkedAlone, std::memory_order_relaxed);
  // Published before it is linked, so that the writer, which takes ids in order, never
  // waits on a node whose inserter lost a race; such a node stays unlinked.
  n.ip.store(ip, std::memory_order_release);
  return id;
}

uint32_t StackTable::index_find(uint32_t parent, uint64_t ip) const {
  for (int g = index_newest_.load(std::memory_order_acquire); g >= 0; --g) {
    const std::atomic<uint32_t>* slots = index_[g].load(std::memory_order_acquire);
    size_t mask = (size_t{1} << (kFirstIndexBits + g)) - 1;
    for (size_t at = mix(ip, parent) & mask;; at = (at + 1) & mask) {
      uint32_t id = slots[at].load(std::memory_order_acquire);
      if (id == 0) break;
      const StackNode* n = find(id);
      if (n->parent == parent && n->ip.load(std::memory_order_acquire) == ip) return id;
    }
  }
  return 0;
}

// With index_lock_ held: no other thread inserts, so a key is in at most one generation.
uint32_t StackTable::index_insert(uint32_t parent, uint64_t ip, uint32_t made) {
  int g = index_newest_.load(std::memory_order_relaxed);
  size_t capacity = g < 0 ? 0 : size_t{1} << (kFirstIndexBits + g);
  if (g < 0 || index_used_[g].load(std::memory_order_relaxed) >= capacity / 2) {
    // The newest generation is half full: the next one, twice its size.
    if (g + 1 >= kIndexGenerations) return 0;
    capacity = capacity ? capacity * 2 : size_t{1} << kFirstIndexBits;
    auto* fresh = static_cast<std::atomic<uint32_t>*>(reserve(capacity * sizeof(std::atomic<uint32_t>)));
    if (!fresh) return 0;
    index_[++g].store(fresh, std::memory_order_release);
    index_newest_.store(g, std::memory_order_release);
  }
  uint32_t id = made ? made : new_node(parent, ip, 0);
  if (id == 0) return 0;
  std::atomic<uint32_t>* slots = index_[g].load(std::memory_order_relaxed);
  size_t mask = capacity - 1;
  size_t at = mix(ip, parent) & mask;
  while (slots[at].load(std::memory_order_relaxed) != 0) at = (at + 1) & mask;
  slots[at].store(id, std::memory_order_release);
  index_used_[g].fetch_add(1, std::memory_order_relaxed);
  return id;
}

// Inlined into intern and intern_path: on mixed, where most lookups hit the memo, the call
// (and the answer passed back through memory) cost 2.6% of the allocating thread.
__attribute__((always_inline)) inline StackCache::Slot* StackTable::memo_probe(uint32_t parent, uint64_t ip,
                                                                              StackCache* cache, bool* hit) {
  *hit = false;
  if (!cache) return nullptr;
  if (cache->skip != 0) {
    --cache->skip;
    return nullptr;
  }
  StackCache::Slot* slot = &cache->slots[mix(ip, parent) & (StackCache::kSlots - 1)];
  *hit = slot->id != 0 && slot->ip == ip && slot->parent == parent;
  cache->hits += *hit;
  if (++cache->probes == StackCache::kWindow) {
    if (cache->hits < StackCache::kWindow / 16) cache->skip = StackCache::kSkip;
    cache->probes = cache->hits = 0;
  }
  return slot;
}

uint32_t StackTable::find_edge(uint32_t parent, uint64_t ip, uint64_t* list) const {
  // The node after the parent, if it is this edge and was made in the same chain as the parent:
  // linked as the parent is. A stack's path goes on along the chain it was made in, so in a deep
  // recursion's later passes this is found in the parent's cache line or the next, where the list
  // (newest child first) lists the children made later, far away in the tree, before it.
  if (const StackNode* next = find(parent + 1)) {
    if (next->ip.load(std::memory_order_acquire) == ip && next->parent == parent &&
        (next->children.load(std::memory_order_relaxed) & StackNode::kLinkedAlone) == 0) {
      *list = 0;
      return parent + 1;
    }
  }
  *list = find(parent)->children.load(std::memory_order_acquire);
  uint32_t id = find_child(StackNode::first_child(*list), 0, ip);
  // A full list is whole (count and head change together): the rest are in the index.
  if (id == 0 && StackNode::listed(*list) >= kListChildren) id = index_find(parent, ip);
  return id;
}

uint32_t StackTable::link(uint32_t parent, uint64_t ip, uint64_t list, uint32_t mine, bool* linked) {
  *linked = false;
  StackNode& up = *const_cast<StackNode*>(find(parent));
  // While the list has room, our node goes at its head with one compare-and-swap of the list
  // word; a failed one means another thread linked a child meanwhile: if it is this edge, ours
  // stays unlinked (published, so the writer never waits on it, but no lookup finds it).
  uint32_t seen = StackNode::first_child(list);  // the list was searched from its head to here
  while (StackNode::listed(list) < kListChildren) {
    uint32_t head = StackNode::first_child(list);
    if (mine == 0) {
      if ((mine = new_node(parent, ip, head)) == 0) return 0;
    } else {
      node_for_write(mine).next_sibling = head;
    }
    uint64_t linked_list =
        (list & StackNode::kLinkedAlone) | (static_cast<uint64_t>(StackNode::listed(list) + 1) << 32) | mine;
    if (up.children.compare_exchange_weak(list, linked_list, std::memory_order_acq_rel, std::memory_order_acquire)) {
      *linked = true;
      return mine;
    }
    if (uint32_t id = find_child(StackNode::first_child(list), seen, ip)) return id;
    seen = StackNode::first_child(list);
  }
  // A wide node: its list is full, so whole, and was searched; the edge is in the index, or
  // goes there (with our node, if we made one).
  uint32_t id = index_find(parent, ip);
  if (id != 0) return id;
  for (int spins = 0; index_lock_.exchange(true, std::memory_order_acquire); ++spins)
    if (spins > 64) sched_yield();
  id = index_find(parent, ip);
  if (id == 0) {
    id = index_insert(parent, ip, mine);
    *linked = id != 0;
  }
  index_lock_.store(false, std::memory_order_release);
  return id;
}

uint32_t StackTable::new_chain(uint32_t parent, const uint64_t* ips, int n) {
  uint32_t first = next_id_.fetch_add(static_cast<uint32_t>(n), std::memory_order_relaxed);
  if (first == 0 || first + static_cast<uint32_t>(n - 1) < first) {  // the 2^32 ids wrapped
    overflowed_.store(true, std::memory_order_relaxed);
    return 0;
  }
  StackNode* segment = nullptr;
  for (int m = 0; m < n; ++m) {
    uint32_t id = first + static_cast<uint32_t>(m);
    if (m == 0 || (id & (kSegmentNodes - 1)) == 0) {
      if ((segment = segment_for(id)) == nullptr) {
        overflowed_.store(true, std::memory_order_relaxed);
        return 0;
      }
    }
    StackNode& node = segment[id & (kSegmentNodes - 1)];
    node.parent = m == 0 ? parent : id - 1;
    node.next_sibling = 0;
    // Each node's one child is the next: plain stores, seen by others only through the link
    // of the first node (a release) or the writer, which reads parent and ip.
    node.children.store((m == 0 ? StackNode::kLinkedAlone : 0) | (m + 1 < n ? (uint64_t{1} << 32) | (id + 1) : 0),
                        std::memory_order_relaxed);
    node.ip.store(ips[m], std::memory_order_release);
  }
  return first;
}

uint32_t StackTable::intern(uint32_t parent, uint64_t ip, StackCache* cache) {
  bool hit;
  StackCache::Slot* slot = memo_probe(parent, ip, cache, &hit);
  if (hit) return slot->id;
  uint64_t list;
  uint32_t id = find_edge(parent, ip, &list);
  if (id == 0) {
    bool linked;
    id = link(parent, ip, list, 0, &linked);
    if (id == 0) return 0;
    if (linked && cache) ++cache->created;
  }
  if (slot) *slot = StackCache::Slot{ip, parent, id};
  return id;
}

int StackTable::intern_path(uint32_t parent, const uint64_t* ips, int n, uint32_t* nodes, StackCache* cache,
                            int* first_new) {
  *first_new = -1;
  for (int i = 0; i < n; ++i) {
    bool hit;
    StackCache::Slot* slot = memo_probe(parent, ips[i], cache, &hit);
    uint32_t id = hit ? slot->id : 0;
    if (!hit) {
      uint64_t list;
      id = find_edge(parent, ips[i], &list);
      if (id == 0) {
        // A new edge: every edge below it is new too. Their nodes are made as one chain of
        // consecutive ids (one atomic add for them all), linked to each other with plain
        // stores, and the chain is linked into the tree by its first node.
        uint32_t top = new_chain(parent, ips + i, n - i);
        if (top == 0) return i;
        bool linked;
        id = link(parent, ips[i], list, top, &linked);
        if (id == 0) return i;
        if (linked) {
          for (int m = i; m < n; ++m) nodes[m] = top + static_cast<uint32_t>(m - i);
          if (cache) cache->created += static_cast<uint64_t>(n - i);
          *first_new = i;
          return n;
        }
        // Another thread linked this edge first: our chain stays unlinked, the path goes on
        // below its node.
      }
      if (slot) *slot = StackCache::Slot{ips[i], parent, id};
    }
    nodes[i] = id;
    parent = id;
  }
  return n;
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
