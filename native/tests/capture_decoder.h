// A minimal decoder of docs/capture-format.md for native tests (the real reader is in
// Recorder). Counts records per tag and collects what the tests check.
#pragma once
#include <zstd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/varint.h"

struct DecodedCapture {
  bool ok = false;
  std::string error;
  uint16_t version = 0;
  uint32_t pid = 0;
  std::map<uint8_t, size_t> tags;
  std::map<uint32_t, uint64_t> allocs_per_stream;
  std::set<std::pair<uint32_t, uint64_t>> freed;
  std::map<uint64_t, std::string> type_names;
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> nodes;  // id -> (parent, ip)
  std::vector<uint64_t> node_ips;  // STACK_NODES: the ips in order of first appearance
  std::vector<uint64_t> alloc_sizes;
  std::vector<uint64_t> alloc_stacks;
  std::vector<uint64_t> alloc_types;
  std::vector<uint64_t> alloc_ticks;  // ALLOC and SAMPLED_ALLOC: the record's time (the stream's running sum of dt)
  std::vector<uint64_t> sampled_offsets;  // SAMPLED_ALLOC (also counted in alloc_*)
  std::vector<uint8_t> sampled_kinds;
  uint64_t end_allocations = 0, end_frees = 0, end_live = 0, end_dropped = 0;
  bool truncated = false;  // the last chunk was cut short (with allow_truncated_tail)
  uint16_t flags = 0;
  struct AggRow {
    uint64_t stack, type, count, bytes, peak_count, peak_bytes, leaked_count, leaked_bytes;
  };
  std::vector<AggRow> agg;  // the last AGG_TABLE
  bool agg_final = false;
  struct NativeEvent {
    uint32_t stream;
    bool alloc;
    uint8_t kind;  // allocator, or release kind
    uint64_t address, size, stack, ticks;
  };
  std::vector<NativeEvent> native;
  std::map<uint64_t, std::string> frame_names;  // ip -> function
  std::vector<std::string> modules;
  struct ManagedModule {
    std::string path, name, symbols;
  };
  std::map<uint64_t, ManagedModule> managed_modules;  // MANAGED_MODULE index -> module (MODULE_SYMBOLS bytes)
  struct IlFrame {
    uint64_t module, token, il_offset;
  };
  std::map<uint64_t, IlFrame> il_frames;  // ip -> IL_FRAME
  uint64_t agg_peak = 0;
};

inline DecodedCapture decode_capture(const std::string& path, bool allow_truncated_tail = false) {
  using namespace memnb;
  DecodedCapture c;
  FILE* f = fopen(path.c_str(), "rb");
  if (!f) {
    c.error = "cannot open";
    return c;
  }
  std::vector<uint8_t> d;
  uint8_t buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) d.insert(d.end(), buf, buf + n);
  fclose(f);
  if (d.size() < 32 || memcmp(d.data(), "MEMNBCAP", 8) != 0) {
    c.error = "bad header";
    return c;
  }
  memcpy(&c.version, d.data() + 8, 2);
  memcpy(&c.pid, d.data() + 16, 4);
  memcpy(&c.flags, d.data() + 10, 2);
  size_t off = 32;
  std::map<uint32_t, uint64_t> prev_stack;
  std::map<uint32_t, uint64_t> prev_ticks;
  while (off + 20 <= d.size()) {
    uint32_t h[4];
    memcpy(h, d.data() + off, 16);
    uint8_t codec = d[off + 16];
    if (h[0] == 0x4B4E4843 && off + 20 + h[2] > d.size() && allow_truncated_tail) {
      c.truncated = true;
      c.ok = true;
      return c;
    }
    if (h[0] != 0x4B4E4843 || off + 20 + h[2] > d.size()) {
      c.error = "bad chunk";
      return c;
    }
    std::vector<uint8_t> p(h[3]);
    if (codec == 1) {
      if (ZSTD_decompress(p.data(), p.size(), d.data() + off + 20, h[2]) != h[3]) {
        c.error = "bad zstd";
        return c;
      }
    } else {
      memcpy(p.data(), d.data() + off + 20, h[3]);
    }
    off += 20 + h[2];
    uint32_t stream = h[1];
    const uint8_t* q = p.data();
    const uint8_t* e = q + p.size();
    auto v = [&]() {
      uint64_t x = 0;
      q = get_varint(q, e, &x);
      if (!q) throw 1;
      return x;
    };
    auto s = [&]() {
      uint64_t len = v();
      std::string str(reinterpret_cast<const char*>(q), len);
      q += len;
      return str;
    };
    try {
      while (q < e) {
        uint8_t tag = *q++;
        c.tags[tag]++;
        switch (tag) {
          case 0x01:
          case 0x04: {
            // ALLOC, and SAMPLED_ALLOC with its sampled byte offset and heap kind after the same fields.
            prev_ticks[stream] += v();
            uint64_t type = v(), size = v();
            int64_t ds = unzigzag(v());
            v();
            if (tag == 0x04) {
              c.sampled_offsets.push_back(v());
              c.sampled_kinds.push_back(*q++);
            }
            prev_stack[stream] += ds;
            c.alloc_ticks.push_back(prev_ticks[stream]);
            c.alloc_types.push_back(type);
            c.alloc_sizes.push_back(size);
            c.alloc_stacks.push_back(prev_stack[stream]);
            c.allocs_per_stream[stream]++;
            break;
          }
          case 0x02: {
            uint64_t dt = v();
            uint8_t kind = *q++;
            uint64_t size = v();
            int64_t ds = unzigzag(v());
            uint64_t address = v();
            prev_stack[stream] += ds;
            prev_ticks[stream] += dt;
            c.native.push_back({stream, true, kind, address, size, prev_stack[stream], prev_ticks[stream]});
            c.allocs_per_stream[stream]++;
            break;
          }
          case 0x03: {
            uint64_t dt = v();
            uint8_t kind = *q++;
            uint64_t address = v(), size = v();
            prev_ticks[stream] += dt;
            c.native.push_back({stream, false, kind, address, size, 0, prev_ticks[stream]});
            break;
          }
          case 0x18: v(); v(); c.modules.push_back(s()); s(); break;
          case 0x19: { uint64_t i = v(); std::string path = s(); c.managed_modules[i] = {path, s(), ""}; break; }
          case 0x1A: {
            uint64_t i = v(), len = v();
            c.managed_modules[i].symbols.assign(reinterpret_cast<const char*>(q), len);
            q += len;
            break;
          }
          case 0x1B: { uint64_t ip = v(); uint64_t m = v(); uint64_t t = v(); c.il_frames[ip] = {m, t, v()}; break; }
          case 0x10: v(); v(); q++; break;
          case 0x11: { uint64_t i = v(); v(); c.type_names[i] = s(); v(); break; }
          case 0x12: { uint64_t id = v(); uint64_t parent = v(); uint64_t ip = v(); c.nodes[id] = {parent, ip}; break; }
          case 0x1C: {
            uint64_t count = v();
            for (uint64_t i = 0; i < count; ++i) {
              uint64_t id = c.nodes.size() + 1;
              uint64_t parent = id - 1 - v();
              uint64_t index = v();
              if (index == c.node_ips.size()) c.node_ips.push_back(v());
              c.nodes[id] = {parent, c.node_ips.at(index)};
            }
            break;
          }
          case 0x13: { uint64_t ip = v(); q++; c.frame_names[ip] = s(); s(); v(); break; }
          case 0x14: v(); v(); v(); break;
          case 0x15: v(); s(); break;
          case 0x16: for (int i = 0; i < 9; ++i) v(); break;
          case 0x17: v(); c.end_allocations = v(); c.end_frees = v(); c.end_live = v(); c.end_dropped = v(); break;
          case 0x20: v(); q += 2; v(); v(); break;
          case 0x21: for (int i = 0; i < 7; ++i) v(); break;
          case 0x22: case 0x23: v(); break;
          case 0x24: {
            uint32_t st = static_cast<uint32_t>(v());
            uint64_t count = v(), seq = 0;
            for (uint64_t i = 0; i < count; ++i) {
              uint64_t x = v();
              seq = i == 0 ? x : seq + x;
              c.freed.insert({st, seq});
            }
            break;
          }
          case 0x30: {
            v();
            c.agg_final = *q++ != 0;
            c.agg_peak = v();
            uint64_t n = v();
            c.agg.clear();
            for (uint64_t i = 0; i < n; ++i) {
              DecodedCapture::AggRow r{};
              r.stack = v(); r.type = v(); r.count = v(); r.bytes = v();
              r.peak_count = v(); r.peak_bytes = v(); r.leaked_count = v(); r.leaked_bytes = v();
              c.agg.push_back(r);
            }
            break;
          }
          default: c.error = "bad tag " + std::to_string(tag); return c;
        }
      }
    } catch (int) {
      c.error = "bad varint";
      return c;
    }
  }
  c.ok = off == d.size() || (allow_truncated_tail && (c.truncated = true));
  if (!c.ok) c.error = "trailing bytes";
  return c;
}
