#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "capture_decoder.h"
#include "profiler/recorder.h"
#include "sampling/allocation_sampled.h"

using namespace memnb;

namespace {

struct NoSymbols : SymbolSource {
  std::string type_name(uint64_t class_id) override { return "T" + std::to_string(class_id); }
  FrameDescription describe_frame(uint64_t) override { return {}; }
};

template <typename T>
void put(std::vector<uint8_t>* out, T v) {
  uint8_t b[sizeof v];
  memcpy(b, &v, sizeof v);
  out->insert(out->end(), b, b + sizeof v);
}

// An AllocationSampled payload as the runtime writes it; with_heap_index adds the HeapIndex
// field that some runtime builds send between TypeName and Address.
std::vector<uint8_t> payload(const char16_t* name, bool with_heap_index) {
  std::vector<uint8_t> p;
  put<uint32_t>(&p, 1);             // AllocationKind: LOH
  put<uint16_t>(&p, 7);             // ClrInstanceID
  put<uint64_t>(&p, 0x7f00deadbeefull);  // TypeID
  for (const char16_t* c = name; *c; ++c) put<uint16_t>(&p, static_cast<uint16_t>(*c));
  put<uint16_t>(&p, 0);
  if (with_heap_index) put<uint32_t>(&p, 3);
  put<uint64_t>(&p, 0x7e0000001000ull);  // Address
  put<uint64_t>(&p, 1048600);            // ObjectSize
  put<uint64_t>(&p, 4242);               // SampledByteOffset
  return p;
}

}  // namespace

TEST(AllocationSampled, parses_the_payload_with_and_without_heap_index_and_with_a_type_name) {
  for (bool heap_index : {false, true}) {
    for (const char16_t* name : {u"", u"System.Byte[]"}) {
      auto p = payload(name, heap_index);
      AllocationSample s;
      ASSERT_TRUE(parse_allocation_sampled(p.data(), p.size(), &s));
      EXPECT_EQ(s.kind, 1u);
      EXPECT_EQ(s.type_id, 0x7f00deadbeefull);
      EXPECT_EQ(s.address, 0x7e0000001000ull);
      EXPECT_EQ(s.size, 1048600u);
      EXPECT_EQ(s.sampled_byte_offset, 4242u);
    }
  }
}

TEST(AllocationSampled, refuses_payloads_of_another_shape) {
  auto p = payload(u"", false);
  AllocationSample s;
  EXPECT_FALSE(parse_allocation_sampled(p.data(), p.size() - 1, &s));  // cut short
  EXPECT_FALSE(parse_allocation_sampled(p.data(), 10, &s));
  EXPECT_FALSE(parse_allocation_sampled(nullptr, 0, &s));
  auto longer = payload(u"", false);
  longer.insert(longer.end(), 8, 0);  // 8 unknown bytes: neither layout
  EXPECT_FALSE(parse_allocation_sampled(longer.data(), longer.size(), &s));
  std::vector<uint8_t> unterminated(4 + 2 + 8 + 40, 'a');  // the name never ends
  EXPECT_FALSE(parse_allocation_sampled(unterminated.data(), unterminated.size(), &s));
}

TEST(SampledRecording, writes_sampled_alloc_records_and_the_sampled_header_flag) {
  std::string path = std::string("/tmp/memnb-sampled-test-") + std::to_string(getpid()) + ".memnb";
  NoSymbols symbols;
  std::string error;
  RecorderOptions options;
  options.sampled = true;
  Recorder& rec = recorder();
  ASSERT_TRUE(rec.start(path.c_str(), options, &symbols, &error)) << error;
  ThreadState* ts = rec.thread_state(nullptr);
  const uintptr_t stack[] = {0x1000, 0x2000, 0x3000};
  int64_t type = rec.intern_type(ts, 0xC0);
  rec.record_sampled_allocation(ts, 0x100000, type, 1048600, 4242, 1, stack, 3);
  rec.record_sampled_allocation(ts, 0x300000, type, 24, 0, 0, stack, 0);
  ASSERT_TRUE(rec.stop(&error)) << error;

  DecodedCapture c = decode_capture(path);
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_EQ(c.flags, kFlagSampled | kFlagIlFrames);
  EXPECT_EQ(c.tags[0x04], 2u);
  EXPECT_EQ(c.tags[0x01], 0u);
  ASSERT_EQ(c.alloc_sizes.size(), 2u);
  EXPECT_EQ(c.alloc_sizes[0], 1048600u);
  EXPECT_EQ(c.sampled_offsets[0], 4242u);
  EXPECT_EQ(c.sampled_kinds[0], 1u);
  EXPECT_NE(c.alloc_stacks[0], 0u);
  EXPECT_EQ(c.alloc_stacks[1], 0u);
  EXPECT_EQ(c.end_allocations, 2u);
  EXPECT_EQ(c.type_names[0], "T192");
  unlink(path.c_str());
}

TEST(AllocationSampled, drops_samples_of_large_objects_only_when_those_are_recorded_exactly) {
  AllocationSample s;
  for (uint32_t kind : {0u, 1u, 2u}) {
    s.kind = kind;
    EXPECT_TRUE(sample_recorded(s, false)) << kind;
    EXPECT_EQ(sample_recorded(s, true), kind != 1) << kind;
  }
}

TEST(SampledRecording, writes_exact_large_objects_as_sampled_alloc_with_the_exact_bit) {
  std::string path = std::string("/tmp/memnb-sampled-exact-test-") + std::to_string(getpid()) + ".memnb";
  NoSymbols symbols;
  std::string error;
  RecorderOptions options;
  options.sampled = true;
  Recorder& rec = recorder();
  ASSERT_TRUE(rec.start(path.c_str(), options, &symbols, &error)) << error;
  EXPECT_TRUE(rec.sampled());
  ThreadState* ts = rec.thread_state(nullptr);
  const uintptr_t stack[] = {0x1000, 0x2000};
  int64_t type = rec.intern_type(ts, 0xC0);
  rec.record_exact_large_allocation(ts, 0x100000, type, 100024, stack, 2);
  rec.record_sampled_allocation(ts, 0x300000, type, 24, 3, 0, stack, 2);
  ASSERT_TRUE(rec.stop(&error)) << error;

  DecodedCapture c = decode_capture(path);
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_EQ(c.flags, kFlagSampled | kFlagIlFrames);
  EXPECT_EQ(c.tags[0x04], 2u);
  ASSERT_EQ(c.alloc_sizes.size(), 2u);
  EXPECT_EQ(c.alloc_sizes[0], 100024u);
  EXPECT_EQ(c.sampled_offsets[0], 0u);
  EXPECT_EQ(c.sampled_kinds[0], 0x81u);  // LOH, exact
  EXPECT_EQ(c.sampled_kinds[1], 0u);
  EXPECT_NE(c.alloc_stacks[0], 0u);
  unlink(path.c_str());
}
