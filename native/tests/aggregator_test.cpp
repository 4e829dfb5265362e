#include <gtest/gtest.h>
#include <unistd.h>

#include <numeric>
#include <thread>
#include <vector>

#include "capture_decoder.h"
#include "profiler/recorder.h"

using namespace memnb;

namespace {

struct NoSymbols : SymbolSource {
  std::string type_name(uint64_t class_id) override { return "T" + std::to_string(class_id); }
  FrameDescription describe_frame(uint64_t) override { return {}; }
};

std::string temp_path(const char* name) { return std::string("/tmp/memnb-agg-test-") + std::to_string(getpid()) + "-" + name; }

template <typename F>
uint64_t sum(const std::vector<DecodedCapture::AggRow>& rows, F field) {
  uint64_t total = 0;
  for (const auto& r : rows) total += field(r);
  return total;
}

const uintptr_t kStackA[] = {0x1000, 0x2000, 0x3000};
const uintptr_t kStackB[] = {0x1100, 0x2000, 0x3000};

}  // namespace

TEST(AggregatedRecording, writes_totals_per_stack_and_type_instead_of_records) {
  std::string path = temp_path("threads.memnb");
  NoSymbols symbols;
  std::string error;
  RecorderOptions options;
  options.aggregate = true;
  Recorder& rec = recorder();
  ASSERT_TRUE(rec.start(path.c_str(), options, &symbols, &error)) << error;
  constexpr int kThreads = 4, kPerThread = 50000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ThreadState* ts = rec.thread_state(nullptr);
      for (int i = 0; i < kPerThread; ++i)
        rec.record_allocation(ts, 0x10000000ull * (t + 1) + i * 32ull, 0xC0 + (i % 3), 32, i % 2 ? kStackA : kStackB, 3);
    });
  }
  for (auto& th : threads) th.join();
  // Only the first thread's objects survive the GC.
  std::vector<GenerationRange> ranges;
  for (int t = 0; t < kThreads; ++t) ranges.push_back({0x10000000ull * (t + 1), 0x10000000ull * (t + 1) + 0x1000000, 0});
  rec.gc_started(1, 1, ranges);
  uint64_t start = 0x10000000ull, len = kPerThread * 32ull;
  rec.gc_survived(&start, &len, 1);
  uint64_t heap[kHeapParts] = {};
  rec.gc_finished(heap);
  ASSERT_TRUE(rec.stop(&error)) << error;

  DecodedCapture c = decode_capture(path);
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_EQ(c.flags, kFlagAggregated | kFlagIlFrames);  // aggregated, with IL positions for its frames
  EXPECT_EQ(c.tags[0x01], 0u);  // no ALLOC
  EXPECT_EQ(c.tags[0x24], 0u);  // no FREE
  EXPECT_EQ(c.tags[0x20], 1u);  // GC events are kept
  ASSERT_TRUE(c.agg_final);
  EXPECT_EQ(c.agg.size(), 6u);  // 3 types x 2 stacks
  EXPECT_EQ(sum(c.agg, [](auto& r) { return r.count; }), uint64_t{kThreads * kPerThread});
  EXPECT_EQ(sum(c.agg, [](auto& r) { return r.bytes; }), uint64_t{kThreads * kPerThread * 32ull});
  // The high-water mark was when the GC started: everything alive.
  EXPECT_EQ(c.agg_peak, kThreads * kPerThread * 32ull);
  EXPECT_EQ(sum(c.agg, [](auto& r) { return r.peak_count; }), uint64_t{kThreads * kPerThread});
  EXPECT_EQ(sum(c.agg, [](auto& r) { return r.leaked_count; }), uint64_t{kPerThread});
  EXPECT_EQ(sum(c.agg, [](auto& r) { return r.leaked_bytes; }), kPerThread * 32ull);
  EXPECT_EQ(c.end_allocations, uint64_t{kThreads * kPerThread});
  EXPECT_EQ(c.end_frees, uint64_t{(kThreads - 1) * kPerThread});
  unlink(path.c_str());
}

TEST(AggregatedRecording, peak_counts_only_what_was_alive_when_the_gc_started) {
  std::string path = temp_path("peak.memnb");
  NoSymbols symbols;
  std::string error;
  RecorderOptions options;
  options.aggregate = true;
  Recorder& rec = recorder();
  ASSERT_TRUE(rec.start(path.c_str(), options, &symbols, &error)) << error;
  ThreadState* ts = rec.thread_state(nullptr);
  // 1,000 objects of type A, all dead in the GC; then 100 of type B, after it, in the
  // same writer cycle: the peak (32,000 bytes) must hold only the A objects.
  for (int i = 0; i < 1000; ++i) rec.record_allocation(ts, 0x100000 + i * 32, 0xA0, 32, kStackA, 3);
  rec.gc_started(1, 1, {{0x100000, 0x200000, 0}});
  uint64_t heap[kHeapParts] = {};
  rec.gc_finished(heap);
  for (int i = 0; i < 100; ++i) rec.record_allocation(ts, 0x300000 + i * 32, 0xB0, 32, kStackB, 3);
  ASSERT_TRUE(rec.stop(&error)) << error;

  DecodedCapture c = decode_capture(path);
  ASSERT_TRUE(c.ok) << c.error;
  ASSERT_EQ(c.agg.size(), 2u);
  const auto& a = c.type_names[c.agg[0].type] == "T160" ? c.agg[0] : c.agg[1];
  const auto& b = c.type_names[c.agg[0].type] == "T160" ? c.agg[1] : c.agg[0];
  EXPECT_EQ(c.type_names[a.type], "T160");  // 0xA0
  EXPECT_EQ(c.agg_peak, 32000u);
  EXPECT_EQ(a.peak_count, 1000u);
  EXPECT_EQ(b.peak_count, 0u);
  EXPECT_EQ(a.leaked_count, 0u);
  EXPECT_EQ(b.leaked_count, 100u);
  EXPECT_EQ(b.count, 100u);
  unlink(path.c_str());
}
