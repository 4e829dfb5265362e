// Shared by the lifetime tests: the sequence numbers of tracked objects, ascending.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "lifetime/lifetime_tracker.h"

namespace memnb {

inline std::vector<uint64_t> seqs(const std::vector<TrackedObject>& dead) {
  std::vector<uint64_t> out;
  for (auto& o : dead) out.push_back(object_seq(o.id));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace memnb
