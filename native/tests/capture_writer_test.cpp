#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "capture_decoder.h"
#include "profiler/recorder.h"
#include "writer/capture_writer.h"

using namespace memnb;

namespace {

struct FakeSymbols : SymbolSource {
  std::string type_name(uint64_t class_id) override { return "Type" + std::to_string(class_id); }
  FrameDescription describe_frame(uint64_t ip) override {
    FrameDescription f;
    f.kind = kFrameManaged;
    f.function = "Fn" + std::to_string(ip);
    return f;
  }
};

std::string temp_path(const char* name) { return std::string("/tmp/memnb-native-test-") + std::to_string(getpid()) + "-" + name; }

// Managed frames in two modules: one on disk, one loaded from memory with its symbols; 0x3000 has no IL
// position and the module of 0x4000 is gone.
struct IlSymbols : SymbolSource {
  std::string type_name(uint64_t class_id) override { return "Type" + std::to_string(class_id); }
  FrameDescription describe_frame(uint64_t ip) override {
    FrameDescription f;
    f.kind = kFrameManaged;
    f.function = "Fn" + std::to_string(ip);
    if (ip == 0x3000) return f;
    f.has_il = true;
    f.module_id = ip == 0x2000 ? 0xB0 : ip == 0x4000 ? 0xDEAD : 0xA0;
    f.method_token = 0x06000000u + static_cast<uint32_t>(ip >> 8);
    f.il_offset = static_cast<uint32_t>(ip & 0xFF) + 7;
    return f;
  }
  bool describe_module(uint64_t module_id, ManagedModuleDescription* out) override {
    ++module_calls;
    if (module_id == 0xA0) {
      out->path = "/app/App.dll";
      out->name = "App.dll";
    } else if (module_id == 0xB0) {
      out->name = "cell";
      out->symbols = {'B', 'S', 'J', 'B', 0, 1};
    } else {
      return false;
    }
    return true;
  }
  int module_calls = 0;
};

const uintptr_t kStackA[] = {0x1000, 0x2000, 0x3000};
const uintptr_t kStackB[] = {0x1100, 0x2000, 0x3000};

}  // namespace

TEST(CaptureWriter, writes_header_and_compressed_and_stored_chunks) {
  std::string path = temp_path("writer.memnb");
  CaptureWriter w;
  std::string error;
  ASSERT_TRUE(w.open(path.c_str(), 4242, 1, 0, &error)) << error;
  std::vector<uint8_t> record;
  for (int i = 0; i < 1000; ++i) record.insert(record.end(), {0x10, 0x01, 0x02, 0x04});
  ASSERT_TRUE(w.write_chunk(kMetaStream, record.data(), record.size()));
  uint8_t one[] = {0x10, 0x00, 0x05, 0x04};
  ASSERT_TRUE(w.write_chunk(kMetaStream, one, sizeof one));
  w.close();
  DecodedCapture c = decode_capture(path);
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_EQ(c.version, 1);
  EXPECT_EQ(c.pid, 4242u);
  EXPECT_EQ(c.tags[0x10], 1001u);
  unlink(path.c_str());
}

TEST(Clock, an_allocation_time_is_rounded_down_to_four_ticks_but_never_before_the_previous_record) {
  EXPECT_EQ(round_alloc_ticks(1007, 900), 1004u);
  EXPECT_EQ(round_alloc_ticks(1004, 900), 1004u);
  EXPECT_EQ(round_alloc_ticks(1003, 900), 1000u);
  // A native record at 1001, then the allocation at 1003: 1000 would go back past it.
  EXPECT_EQ(round_alloc_ticks(1003, 1001), 1001u);
  EXPECT_EQ(round_alloc_ticks(1001, 1001), 1001u);
  EXPECT_EQ(round_alloc_ticks(1008, 1001), 1008u);
}

TEST(Recorder, allocation_times_are_rounded_down_yet_never_before_the_streams_previous_record) {
  // An ALLOC's time is the counter rounded down to a few ticks (compression); right after a
  // native record of the same stream the rounding could go back past it, and the ALLOC's time
  // difference, an unsigned varint, would wrap. Each ALLOC here follows a NATIVE_FREE at once.
  std::string path = temp_path("alloc-ticks.memnb");
  FakeSymbols symbols;
  std::string error;
  Recorder& rec = recorder();
  ASSERT_TRUE(rec.start(path.c_str(), RecorderOptions{}, &symbols, &error)) << error;
  ThreadState* ts = rec.thread_state(nullptr);
  constexpr int kPairs = 20000;
  for (int i = 0; i < kPairs; ++i) {
    rec.record_native_free(ts, 0, 0x900000 + i * 16, 16);
    rec.record_allocation(ts, 0x10000000 + i * 32, 0xC0, 32, kStackA, 3);
  }
  ASSERT_TRUE(rec.stop(&error)) << error;
  DecodedCapture c = decode_capture(path);
  ASSERT_TRUE(c.ok) << c.error;
  ASSERT_EQ(c.alloc_ticks.size(), static_cast<size_t>(kPairs));
  ASSERT_EQ(c.native.size(), static_cast<size_t>(kPairs));
  int rounded = 0;
  for (int i = 0; i < kPairs; ++i) {
    ASSERT_GE(c.alloc_ticks[i], c.native[i].ticks) << i;
    if (i + 1 < kPairs) {
      ASSERT_LE(c.alloc_ticks[i], c.native[i + 1].ticks) << i;
    }
    if (c.alloc_ticks[i] != c.native[i].ticks) {
      EXPECT_EQ(c.alloc_ticks[i] % 4, 0u) << i;
      ++rounded;
    }
  }
  // Most allocations come a rounding step after their free: their own rounded time shows.
  EXPECT_GT(rounded, 0);
  unlink(path.c_str());
}

TEST(Recorder, native_record_times_never_go_back_in_their_stream_when_the_counter_does) {
  // Each core has its own time-stamp counter, a little out of step with the others'. A thread
  // whose last record was timed on a core ahead, then moved to one behind, reads an earlier time:
  // its native records keep the stream's time instead (a dt that went back would wrap).
  std::string path = temp_path("native-ticks.memnb");
  FakeSymbols symbols;
  std::string error;
  Recorder& rec = recorder();
  RecorderOptions options;
  options.native = true;
  ASSERT_TRUE(rec.start(path.c_str(), options, &symbols, &error)) << error;
  ThreadState* ts = rec.thread_state(nullptr);
  rec.record_native_free(ts, 1, 0x800000, 0);
  const uint64_t ahead = ts->prev_ticks + (uint64_t{1} << 30);  // ~17 s of ticks ahead
  ts->prev_ticks = ahead;
  uintptr_t ips[] = {0x1234};
  rec.record_native_alloc(ts, 1, 0x900000, 64, ips, 1);
  rec.record_native_free(ts, 1, 0x900000, 0);
  ASSERT_TRUE(rec.stop(&error)) << error;
  DecodedCapture c = decode_capture(path);
  ASSERT_TRUE(c.ok) << c.error;
  ASSERT_EQ(c.native.size(), 3u);
  // The encoder's time of the stream was moved ahead as a record timed there would leave it (the
  // decoder did not see one): both records keep it, a dt of 0, so they decode at the time of the
  // record before them; a dt that went back would have wrapped to before it.
  EXPECT_LT(c.native[0].ticks, ahead);
  EXPECT_EQ(c.native[1].ticks, c.native[0].ticks);  // the allocation: the stream's time, not the counter's
  EXPECT_EQ(c.native[2].ticks, c.native[0].ticks);  // its free: the same tick, after it in the stream
  unlink(path.c_str());
}

TEST(CaptureWriter, reports_a_full_disk_by_name) {
  std::string error;
  // /dev/full accepts open() and fails every write with ENOSPC: the header write fails.
  CaptureWriter full;
  bool opened = full.open("/dev/full", 1, 1, 0, &error);
  EXPECT_FALSE(opened);
  EXPECT_NE(error.find("No space left"), std::string::npos) << error;
}

TEST(Recorder, records_allocations_frees_and_end_from_several_threads) {
  std::string path = temp_path("recorder.memnb");
  FakeSymbols symbols;
  std::string error;
  Recorder& rec = recorder();
  ASSERT_TRUE(rec.start(path.c_str(), RecorderOptions{}, &symbols, &error)) << error;

  constexpr int kThreads = 4, kPerThread = 50000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ThreadState* ts = rec.thread_state(nullptr);
      for (int i = 0; i < kPerThread; ++i) {
        uint64_t address = 0x10000000ull * (t + 1) + static_cast<uint64_t>(i) * 32;
        rec.record_allocation(ts, address, 0xC0 + (i % 3), 32, i % 2 ? kStackA : kStackB, 3);
      }
    });
  }
  for (auto& th : threads) th.join();

  // A gen0 GC where only the first thread's objects survive.
  std::vector<GenerationRange> ranges;
  for (int t = 0; t < kThreads; ++t) ranges.push_back({0x10000000ull * (t + 1), 0x10000000ull * (t + 1) + 0x1000000, 0});
  rec.gc_started(1, 1, ranges);
  uint64_t start = 0x10000000ull, len = kPerThread * 32ull;
  rec.gc_survived(&start, &len, 1);
  uint64_t heap[kHeapParts] = {1, 2, 3, 4, 5};
  rec.gc_finished(heap);
  ASSERT_TRUE(rec.stop(&error)) << error;

  DecodedCapture c = decode_capture(path);
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_EQ(c.tags[0x01], static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(c.allocs_per_stream.size(), static_cast<size_t>(kThreads));
  for (auto& [stream, count] : c.allocs_per_stream) EXPECT_EQ(count, static_cast<uint64_t>(kPerThread)) << stream;
  EXPECT_EQ(c.freed.size(), static_cast<size_t>((kThreads - 1) * kPerThread));
  EXPECT_EQ(c.end_allocations, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(c.end_frees, static_cast<uint64_t>((kThreads - 1) * kPerThread));
  EXPECT_EQ(c.end_live, kPerThread * 32ull);
  EXPECT_EQ(c.end_dropped, 0u);
  EXPECT_EQ(c.type_names.size(), 3u);
  EXPECT_EQ(c.type_names[0], "Type" + std::to_string(0xC0 + 0));
  // Two distinct stacks share their two outer frames: 4 nodes reachable in the tree.
  // (Racing threads may publish an extra unreferenced node; it is never reachable.)
  std::set<uint64_t> reachable;
  for (uint64_t id : std::set<uint64_t>(c.alloc_stacks.begin(), c.alloc_stacks.end()))
    for (uint64_t n = id; n != 0; n = c.nodes.at(n).first) reachable.insert(n);
  EXPECT_EQ(reachable.size(), 4u);
  EXPECT_EQ(c.tags[0x20], 1u);
  EXPECT_EQ(c.tags[0x21], 1u);
  EXPECT_EQ(c.tags[0x17], 1u);
  unlink(path.c_str());
}

TEST(Recorder, keeps_the_records_of_threads_that_exited_while_recording) {
  std::string path = temp_path("exited.memnb");
  FakeSymbols symbols;
  std::string error;
  Recorder& rec = recorder();
  ASSERT_TRUE(rec.start(path.c_str(), RecorderOptions{}, &symbols, &error)) << error;
  for (int t = 0; t < 8; ++t) {
    std::thread([&] {
      ThreadState* ts = rec.thread_state(nullptr);
      for (int i = 0; i < 1000; ++i) rec.record_allocation(ts, 0x5000 + i * 16, 0xAA, 16, kStackA, 3);
    }).join();
  }
  ASSERT_TRUE(rec.stop(&error)) << error;
  DecodedCapture c = decode_capture(path);
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_EQ(c.tags[0x01], 8000u);
  EXPECT_EQ(c.tags[0x14], 8u);
  unlink(path.c_str());
}

TEST(Recorder, starts_and_stops_a_hundred_times_with_exact_counts_each_time) {
  FakeSymbols symbols;
  std::string error;
  Recorder& rec = recorder();
  std::string path = temp_path("cycles.memnb");
  for (int round = 0; round < 100; ++round) {
    ASSERT_TRUE(rec.start(path.c_str(), RecorderOptions{}, &symbols, &error)) << error;
    ThreadState* ts = rec.thread_state(nullptr);
    for (int i = 0; i <= round; ++i) rec.record_allocation(ts, 0x7000 + i * 24, 0xBB, 24, kStackB, 3);
    ASSERT_TRUE(rec.stop(&error)) << error;
    DecodedCapture c = decode_capture(path);
    ASSERT_TRUE(c.ok) << c.error;
    ASSERT_EQ(c.tags[0x01], static_cast<size_t>(round + 1));
  }
  unlink(path.c_str());
}

TEST(Recorder, a_full_disk_fails_the_stop_by_name_keeps_whole_chunks_and_never_blocks_hooks) {
  std::string path = temp_path("full.memnb");
  FakeSymbols symbols;
  std::string error;
  Recorder& rec = recorder();
  // A file-size limit stands in for a full disk: writes past it fail with EFBIG.
  struct sigaction ignore {}, previous {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGXFSZ, &ignore, &previous);
  rlimit old{};
  getrlimit(RLIMIT_FSIZE, &old);
  ASSERT_TRUE(rec.start(path.c_str(), RecorderOptions{}, &symbols, &error)) << error;
  ThreadState* ts = rec.thread_state(nullptr);
  // 1,000 allocations reach the file before the disk fills up.
  for (uint64_t i = 0; i < 1000; ++i) rec.record_allocation(ts, 0x1000000 + i * 32, 0xAB, 32, kStackA, 3);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  struct stat before {};
  stat(path.c_str(), &before);
  rlimit small = old;
  small.rlim_cur = static_cast<rlim_t>(before.st_size) + 16 * 1024;
  setrlimit(RLIMIT_FSIZE, &small);
  // Distinct stacks and sizes so the data does not compress away.
  for (uint64_t i = 0; i < 2000000; ++i) {
    uintptr_t stack[3] = {0x1000 + (i % 5000) * 16, 0x2000, 0x3000};
    rec.record_allocation(ts, 0x10000000 + i * 64 + (i * 7919 % 61), 0xC0 + i % 50, 24 + (i * 31 % 4000), stack, 3);
  }
  bool stopped = rec.stop(&error);
  setrlimit(RLIMIT_FSIZE, &old);
  sigaction(SIGXFSZ, &previous, nullptr);
  EXPECT_FALSE(stopped);
  EXPECT_NE(error.find(path), std::string::npos) << error;
  EXPECT_NE(error.find("File too large"), std::string::npos) << error;
  DecodedCapture c = decode_capture(path, /*allow_truncated_tail=*/true);
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_GE(c.tags[0x01], 1000u);
  EXPECT_LT(c.tags[0x01], 2001000u);
  unlink(path.c_str());
}

TEST(Recorder, refuses_a_second_start_and_a_stop_when_idle) {
  FakeSymbols symbols;
  std::string error;
  Recorder& rec = recorder();
  std::string path = temp_path("twice.memnb");
  EXPECT_FALSE(rec.stop(&error));
  EXPECT_EQ(error, "not recording");
  ASSERT_TRUE(rec.start(path.c_str(), RecorderOptions{}, &symbols, &error));
  EXPECT_FALSE(rec.start(path.c_str(), RecorderOptions{}, &symbols, &error));
  EXPECT_EQ(error, "already recording");
  EXPECT_TRUE(rec.stop(&error));
  EXPECT_FALSE(rec.start("/nonexistent-dir/x.memnb", RecorderOptions{}, &symbols, &error));
  EXPECT_NE(error.find("/nonexistent-dir/x.memnb"), std::string::npos) << error;
  unlink(path.c_str());
}

TEST(Recorder, a_shallower_stack_sharing_outer_frames_keeps_the_next_stacks_right) {
  // Regression: the per-thread cache of the last stack was shifted in place, and a shorter
  // stack sharing two or more outer frames with a deeper one corrupted it for the next one.
  std::string path = temp_path("stack-cache.memnb");
  FakeSymbols symbols;
  std::string error;
  Recorder& rec = recorder();
  ASSERT_TRUE(rec.start(path.c_str(), RecorderOptions{}, &symbols, &error)) << error;
  const uintptr_t deep[] = {0xA, 0xB, 0xC, 0xD};
  const uintptr_t shallow[] = {0xE, 0xC, 0xD};
  const uintptr_t next[] = {0xF, 0xC, 0xD};
  const uintptr_t deeper[] = {0x1, 0x2, 0x3, 0x4, 0x5, 0xC, 0xD};
  const uintptr_t* stacks[] = {deep, shallow, next, deeper, next, deep};
  const int depths[] = {4, 3, 3, 7, 3, 4};
  ThreadState* ts = rec.thread_state(nullptr);
  for (int i = 0; i < 6; ++i) rec.record_allocation(ts, 0x1000 + i * 64, 0xC0, 32, stacks[i], depths[i]);
  ASSERT_TRUE(rec.stop(&error)) << error;
  DecodedCapture c = decode_capture(path);
  ASSERT_TRUE(c.ok) << c.error;
  ASSERT_EQ(c.alloc_stacks.size(), 6u);
  for (int i = 0; i < 6; ++i) {
    std::vector<uintptr_t> got;
    for (uint64_t s = c.alloc_stacks[i]; s != 0; s = c.nodes[s].first) got.push_back(c.nodes[s].second);
    EXPECT_EQ(got, std::vector<uintptr_t>(stacks[i], stacks[i] + depths[i])) << "allocation " << i;
  }
  unlink(path.c_str());
}

TEST(CaptureWriter, creates_the_capture_readable_by_its_owner_only) {
  std::string path = temp_path("mode.memnb");
  mode_t previous = umask(022);
  CaptureWriter w;
  std::string error;
  ASSERT_TRUE(w.open(path.c_str(), 1, 1, 0, &error)) << error;
  w.close();
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  unlink(path.c_str());

  // A stricter umask still applies.
  umask(077 | 0200);
  CaptureWriter strict;
  ASSERT_TRUE(strict.open(path.c_str(), 1, 1, 0, &error)) << error;
  strict.close();
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0400u);
  umask(previous);
  unlink(path.c_str());
}

TEST(Recorder, writes_il_frames_after_their_modules_and_the_symbols_of_a_module_loaded_from_memory) {
  std::string path = temp_path("il.memnb");
  IlSymbols symbols;
  std::string error;
  Recorder& rec = recorder();
  ASSERT_TRUE(rec.start(path.c_str(), RecorderOptions{}, &symbols, &error)) << error;
  ThreadState* ts = rec.thread_state(nullptr);
  const uintptr_t one[] = {0x1010, 0x2000, 0x3000};
  const uintptr_t two[] = {0x1020, 0x4000, 0x3000};
  rec.record_allocation(ts, 0x10000, 0xC0, 32, one, 3);
  rec.record_allocation(ts, 0x10020, 0xC0, 32, two, 3);
  ASSERT_TRUE(rec.stop(&error)) << error;
  DecodedCapture c = decode_capture(path);
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_EQ(c.flags & kFlagIlFrames, kFlagIlFrames);
  // Indexes in order of first use (frames are described outermost first); the vanished module is asked once and gets none.
  ASSERT_EQ(c.managed_modules.size(), 2u);
  EXPECT_EQ(c.managed_modules[1].path, "");
  EXPECT_EQ(c.managed_modules[1].name, "cell");
  EXPECT_EQ(c.managed_modules[1].symbols, std::string("BSJB\0\1", 6));
  EXPECT_EQ(c.managed_modules[2].path, "/app/App.dll");
  EXPECT_EQ(c.managed_modules[2].name, "App.dll");
  EXPECT_EQ(c.managed_modules[2].symbols, "");
  EXPECT_EQ(symbols.module_calls, 3);
  EXPECT_EQ(c.tags[kTagManagedModule], 2u);
  EXPECT_EQ(c.tags[kTagModuleSymbols], 1u);
  ASSERT_EQ(c.il_frames.size(), 3u);
  EXPECT_EQ(c.il_frames[0x1010].module, 2u);
  EXPECT_EQ(c.il_frames[0x1010].token, 0x06000010u);
  EXPECT_EQ(c.il_frames[0x1010].il_offset, 0x17u);
  EXPECT_EQ(c.il_frames[0x1020].module, 2u);
  EXPECT_EQ(c.il_frames[0x1020].il_offset, 0x27u);
  EXPECT_EQ(c.il_frames[0x2000].module, 1u);
  EXPECT_EQ(c.il_frames[0x2000].token, 0x06000020u);
  EXPECT_EQ(c.il_frames.count(0x3000), 0u);
  EXPECT_EQ(c.il_frames.count(0x4000), 0u);
  EXPECT_EQ(c.frame_names[0x4000], "Fn16384");
  unlink(path.c_str());

  // A second capture of the same recorder numbers its modules from 1 again.
  ASSERT_TRUE(rec.start(path.c_str(), RecorderOptions{}, &symbols, &error)) << error;
  ts = rec.thread_state(nullptr);
  rec.record_allocation(ts, 0x10000, 0xC0, 32, one, 3);
  ASSERT_TRUE(rec.stop(&error)) << error;
  DecodedCapture again = decode_capture(path);
  ASSERT_TRUE(again.ok) << again.error;
  ASSERT_EQ(again.managed_modules.size(), 2u);
  EXPECT_EQ(again.managed_modules[1].name, "cell");
  EXPECT_EQ(again.il_frames[0x1010].module, 2u);
  unlink(path.c_str());
}
