#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <vector>

#include "stacks/frame_walker.h"
#include "stacks/r2r_unwind.h"

using namespace memnb;

namespace {

// UNWIND_INFO operations and registers as the format numbers them.
enum : uint8_t { kPush = 0, kAllocLarge = 1, kAllocSmall = 2, kSetFp = 3, kSaveNonvol = 4, kMachFrame = 10, kSetFpLarge = 11 };
enum : uint8_t { kRbx = 3, kRbp = 5, kR14 = 14, kR15 = 15 };

struct Code {
  uint8_t offset, op, info;
};

// A ReadyToRun image laid out as the runtime maps one (offset = RVA): headers, a CLI header, an RTR
// header with a RuntimeFunctions section, the functions and their unwind data; code from 0x1000.
class Image {
 public:
  static constexpr uint32_t kSize = 0x3000;
  static constexpr uint32_t kCli = 0x200, kRtr = 0x300, kFunctions = 0x400, kUnwind = 0x800, kCode = 0x1000;

  Image() : bytes_(kSize, 0) {
    put16(0, 0x5A4D);
    put32(0x3C, 0x80);
    put32(0x80, 0x00004550);
    put16(0x84, 0x8664 ^ 0x7B79);  // x64, for Linux
    put16(0x86, 1);                // one section
    put16(0x94, 240);              // optional header size
    const uint32_t optional = 0x98;
    put16(optional, 0x20B);
    put32(optional + 56, kSize);
    put32(optional + 108, 16);
    put32(optional + 112 + 14 * 8, kCli);
    put32(optional + 112 + 14 * 8 + 4, 72);
    // .text: RVA 0x1000, file offset 0x1000.
    const uint32_t section = optional + 240;
    memcpy(&bytes_[section], ".text", 5);
    put32(section + 8, 0x1000);
    put32(section + 12, kCode);
    put32(section + 16, 0x1000);
    put32(section + 20, kCode);
    put32(kCli, 72);
    put32(kCli + 64, kRtr);
    put32(kCli + 68, 16 + 2 * 12);
    put32(kRtr, 0x00525452);
    put16(kRtr + 4, 16);
    put32(kRtr + 12, 2);
    put32(kRtr + 16, 100);  // another section first
    put32(kRtr + 28, 102);  // RuntimeFunctions
    put32(kRtr + 32, kFunctions);
  }

  // Adds a function [begin, end) (RVAs, in increasing order) with an UNWIND_INFO of these codes
  // (in the format's order: the last operation of the prolog first); returns the unwind RVA.
  uint32_t function(uint32_t begin, uint32_t end, uint8_t prolog, std::initializer_list<Code> codes,
                    uint8_t flags = 3, uint8_t frame_register = 0, std::initializer_list<uint16_t> extra = {}) {
    uint32_t unwind = add_unwind(prolog, codes, flags, frame_register, extra);
    entry(begin, end, unwind);
    return unwind;
  }

  void entry(uint32_t begin, uint32_t end, uint32_t unwind) {
    uint32_t at = kFunctions + functions_ * 12;
    put32(at, begin);
    put32(at + 4, end);
    put32(at + 8, unwind);
    ++functions_;
    put32(kRtr + 36, functions_ * 12);
  }

  // An UNWIND_INFO; `extra` are slots after the codes (an ALLOC_LARGE's size, a chained function).
  uint32_t add_unwind(uint8_t prolog, std::initializer_list<Code> codes, uint8_t flags = 3, uint8_t frame_register = 0,
                      std::initializer_list<uint16_t> extra = {}) {
    uint32_t at = next_unwind_;
    bytes_[at] = static_cast<uint8_t>(1 | (flags << 3));
    bytes_[at + 1] = prolog;
    bytes_[at + 2] = static_cast<uint8_t>(codes.size() + extra.size());
    bytes_[at + 3] = frame_register;
    uint32_t c = at + 4;
    for (const Code& code : codes) {
      bytes_[c++] = code.offset;
      bytes_[c++] = static_cast<uint8_t>(code.op | (code.info << 4));
    }
    for (uint16_t slot : extra) {
      put16(c, slot);
      c += 2;
    }
    next_unwind_ = (c + 4 + 12 + 3) & ~3u;  // room for a chained RUNTIME_FUNCTION
    return at;
  }

  // Makes the unwind info at `unwind` chain to the one at `parent` (UNW_FLAG_CHAININFO).
  void chain(uint32_t unwind, uint32_t parent) {
    bytes_[unwind] = static_cast<uint8_t>(1 | (4 << 3));
    uint32_t count = bytes_[unwind + 2];
    uint32_t at = unwind + 4 + ((count + 1) & ~1u) * 2;
    put32(at, 0);
    put32(at + 4, 0);
    put32(at + 8, parent);
  }

  ImageView view(uint64_t readable_to = kSize) const {
    ImageView v;
    v.base = bytes_.data();
    v.size = kSize;
    v.ranges = 1;
    v.lo[0] = 0;
    v.hi[0] = readable_to;
    return v;
  }

  void put16(uint32_t at, uint16_t v) { memcpy(&bytes_[at], &v, 2); }
  void put32(uint32_t at, uint32_t v) { memcpy(&bytes_[at], &v, 4); }
  std::vector<uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
  uint32_t functions_ = 0;
  uint32_t next_unwind_ = kUnwind;
};

long lookup(const Image& image, uint32_t rva) {
  ReadyToRunImage r2r;
  if (!ready_to_run_image(image.view(), &r2r)) return -100;
  return ready_to_run_cfa_offset(r2r, rva);
}

}  // namespace

TEST(ReadyToRunUnwind, a_function_that_pushes_rbp_keeps_a_frame_pointer) {
  Image image;
  // push rbp; push r15; push rbx; sub rsp, 16 (then lea rbp, [rsp+32], after what the codes describe)
  image.function(0x1000, 0x1080, 8, {{8, kAllocSmall, 1}, {4, kPush, kRbx}, {3, kPush, kR15}, {1, kPush, kRbp}});
  EXPECT_EQ(lookup(image, 0x1040), kUnwindFramePointer);
}

TEST(ReadyToRunUnwind, a_frameless_function_has_its_pushes_and_allocation_plus_the_return_address) {
  Image image;
  // CreateAndCacheString's prolog: push r15; push r14; push rbx (3 pushes, no allocation).
  image.function(0x1000, 0x1030, 5, {{5, kPush, kRbx}, {3, kPush, kR14}, {1, kPush, kR15}});
  // push rbx; sub rsp, 48
  image.function(0x1040, 0x1080, 5, {{5, kAllocSmall, 5}, {1, kPush, kRbx}});
  // An ALLOC_LARGE whose size slot (size / 8, the next slot) is missing.
  image.function(0x1080, 0x1100, 9, {{9, kAllocLarge, 0}});
  EXPECT_EQ(lookup(image, 0x1010), 8 + 3 * 8);
  EXPECT_EQ(lookup(image, 0x1050), 8 + 8 + 48);
  // The third one's ALLOC_LARGE lacks its size slot: unknown, not a guess.
  EXPECT_EQ(lookup(image, 0x10A0), kUnwindUnknown);

  Image large;
  large.function(0x1000, 0x1100, 9, {{9, kAllocLarge, 0}}, 3, 0, {27});
  EXPECT_EQ(lookup(large, 0x1050), 8 + 27 * 8);
}

TEST(ReadyToRunUnwind, inside_the_prolog_only_the_operations_done_by_then_count) {
  Image image;
  image.function(0x1000, 0x1040, 5, {{5, kAllocSmall, 5}, {1, kPush, kRbx}});
  EXPECT_EQ(lookup(image, 0x1001), 8 + 8);       // after push rbx only
  EXPECT_EQ(lookup(image, 0x1005), 8 + 8 + 48);  // the prolog's end
}

TEST(ReadyToRunUnwind, a_return_address_that_ends_its_function_belongs_to_it_and_none_past_the_last) {
  Image image;
  image.function(0x1000, 0x1020, 1, {{1, kPush, kRbx}});
  image.function(0x1020, 0x1040, 1, {{1, kPush, kRbp}});
  EXPECT_EQ(lookup(image, 0x1020), 16);  // a call that ends the first function: the first's frame
  EXPECT_EQ(lookup(image, 0x1021), kUnwindFramePointer);
  EXPECT_EQ(lookup(image, 0x1041), kUnwindUnknown);  // past every function
  EXPECT_EQ(lookup(image, 0x0800), kUnwindUnknown);  // before the first
}

TEST(ReadyToRunUnwind, the_runtimes_frame_register_codes_mean_a_frame_pointer) {
  Image image;
  image.function(0x1000, 0x1040, 8, {{8, kSetFp, 0}, {1, kPush, kRbx}}, 3, kRbp);
  // SET_FPREG_LARGE (the runtime's large frame offset): two slots of offset follow.
  image.function(0x1040, 0x1080, 20, {{20, kSetFpLarge, 0}, {0, 0x10 & 15, 0}, {0, 0, 0}, {1, kPush, kRbx}}, 3, kRbp);
  EXPECT_EQ(lookup(image, 0x1020), kUnwindFramePointer);
  EXPECT_EQ(lookup(image, 0x1060), kUnwindFramePointer);
}

TEST(ReadyToRunUnwind, a_chained_part_adds_the_frame_of_the_part_it_continues) {
  Image image;
  uint32_t parent = image.function(0x1000, 0x1040, 5, {{5, kAllocSmall, 3}, {1, kPush, kRbx}});
  uint32_t cold = image.add_unwind(0, {});
  image.chain(cold, parent);
  image.entry(0x1040, 0x1060, cold);
  uint32_t framed = image.function(0x1060, 0x1080, 1, {{1, kPush, kRbp}});
  uint32_t cold_framed = image.add_unwind(0, {});
  image.chain(cold_framed, framed);
  image.entry(0x1080, 0x10A0, cold_framed);
  EXPECT_EQ(lookup(image, 0x1050), 8 + 8 + 32);  // the parent's whole prolog ran before its cold part
  EXPECT_EQ(lookup(image, 0x1090), kUnwindFramePointer);
}

TEST(ReadyToRunUnwind, malformed_or_unexpected_unwind_data_gives_no_answer) {
  Image image;
  image.function(0x1000, 0x1010, 1, {{1, kMachFrame, 0}});               // an interrupt's machine frame
  image.function(0x1010, 0x1020, 4, {{4, kSaveNonvol, kRbp}, {0, 0, 0}});  // RBP kept without a push
  uint32_t self = image.add_unwind(0, {});                              // a chain that loops
  image.chain(self, self);
  image.entry(0x1020, 0x1030, self);
  image.entry(0x1030, 0x1040, Image::kSize - 2);  // unwind data past the image
  uint32_t bad_version = image.function(0x1040, 0x1050, 1, {{1, kPush, kRbx}});
  image.bytes()[bad_version] = 3 | (3 << 3);
  uint32_t unknown_op = image.function(0x1050, 0x1060, 1, {{1, 12, 0}});
  (void)unknown_op;
  for (uint32_t rva : {0x1008u, 0x1018u, 0x1028u, 0x1038u, 0x1048u, 0x1058u}) EXPECT_EQ(lookup(image, rva), kUnwindUnknown) << rva;
}

TEST(ReadyToRunUnwind, an_image_not_as_expected_is_not_taken_for_one) {
  Image good;
  good.function(0x1000, 0x1010, 1, {{1, kPush, kRbx}});
  ReadyToRunImage r2r;
  ASSERT_TRUE(ready_to_run_image(good.view(), &r2r));
  EXPECT_EQ(r2r.functions, 1u);

  Image no_rtr = good;
  no_rtr.put32(Image::kRtr, 0x00525453);
  EXPECT_FALSE(ready_to_run_image(no_rtr.view(), &r2r));
  Image no_functions = good;
  no_functions.put32(Image::kRtr + 28, 103);
  EXPECT_FALSE(ready_to_run_image(no_functions.view(), &r2r));
  Image arm = good;
  arm.put16(0x84, 0xAA64);
  EXPECT_FALSE(ready_to_run_image(arm.view(), &r2r));
  Image pe32 = good;
  pe32.put16(0x98, 0x10B);
  EXPECT_FALSE(ready_to_run_image(pe32.view(), &r2r));
  Image wild = good;
  wild.put32(0x3C, 0xFFFFFFF0u);  // the PE header's offset far out of the image
  EXPECT_FALSE(ready_to_run_image(wild.view(), &r2r));
  Image huge = good;
  huge.put32(Image::kRtr + 36, 0x7FFFFFF0u);  // a RuntimeFunctions section larger than the image
  EXPECT_FALSE(ready_to_run_image(huge.view(), &r2r));
  // The section's bytes exist but may not be read (a gap the runtime left unmapped).
  EXPECT_FALSE(ready_to_run_image(good.view(Image::kFunctions), &r2r));
}

TEST(ReadyToRunUnwind, a_mapped_image_is_found_from_a_code_address_through_the_process_mappings) {
  Image image;
  image.function(0x1000, 0x1030, 5, {{5, kPush, kRbx}, {3, kPush, kR14}, {1, kPush, kR15}});
  image.function(0x1030, 0x1060, 1, {{1, kPush, kRbp}});
  char path[] = "/tmp/memnb_r2r_test_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, image.bytes().data(), image.bytes().size()), static_cast<ssize_t>(image.bytes().size()));
  // Mapped as the runtime maps an image: its file's bytes at their RVAs (here file offset = RVA).
  void* at = mmap(nullptr, Image::kSize, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  unlink(path);
  ASSERT_NE(at, MAP_FAILED);
  uintptr_t base = reinterpret_cast<uintptr_t>(at);
  EXPECT_EQ(managed_frame_cfa_offset(base + 0x1010), 32);
  EXPECT_EQ(managed_frame_cfa_offset(base + 0x1040), kUnwindFramePointer);
  EXPECT_EQ(managed_frame_cfa_offset(base + 0x1070), kUnwindUnknown);  // no function there
  munmap(at, Image::kSize);

  // Unmapped, and anonymous memory (as JIT-compiled code is) at its place: the image is forgotten,
  // never read.
  void* anon = mmap(at, Image::kSize, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  ASSERT_NE(anon, MAP_FAILED);
  EXPECT_EQ(managed_frame_cfa_offset(reinterpret_cast<uintptr_t>(anon) + 0x1010), kUnwindUnknown);
  munmap(anon, Image::kSize);
}

// JIT-compiled code has no image: its prolog's bytes tell its frame (stacks/frame_walker.h).
TEST(JitPrologFrame, pushes_and_an_allocation_make_a_frameless_frame_and_push_rbp_a_frame_pointer) {
  const uint8_t frameless[] = {0x41, 0x57, 0x41, 0x56, 0x53, 0x8b, 0xdf, 0xff, 0x15};  // push r15; push r14; push rbx; mov
  const uint8_t aligned[] = {0x50, 0xe8, 0, 0, 0, 0};                                    // push rax; call
  const uint8_t allocation[] = {0x53, 0x48, 0x83, 0xec, 0x20, 0x48, 0x8b, 0xd9};         // push rbx; sub rsp, 32
  const uint8_t large[] = {0x48, 0x81, 0xec, 0x08, 0x01, 0, 0, 0x90};                    // sub rsp, 264
  const uint8_t framed[] = {0x55, 0x41, 0x57, 0x53, 0x48, 0x83, 0xec, 0x10, 0x48, 0x8d, 0x6c, 0x24, 0x20};
  const uint8_t vzeroupper_framed[] = {0xc5, 0xf8, 0x77, 0x55, 0x48, 0x8b, 0xec};
  EXPECT_EQ(jit_prolog_cfa_offset(frameless, sizeof frameless), 32);
  EXPECT_EQ(jit_prolog_cfa_offset(aligned, sizeof aligned), 16);
  EXPECT_EQ(jit_prolog_cfa_offset(allocation, sizeof allocation), 48);
  EXPECT_EQ(jit_prolog_cfa_offset(large, sizeof large), 272);
  EXPECT_EQ(jit_prolog_cfa_offset(framed, sizeof framed), 0);
  EXPECT_EQ(jit_prolog_cfa_offset(vzeroupper_framed, sizeof vzeroupper_framed), 0);
}

TEST(JitPrologFrame, a_prolog_it_cannot_read_or_that_would_misalign_a_call_gives_no_answer) {
  const uint8_t nothing[] = {0x48, 0x8b, 0xc7, 0xc3};          // mov rax, rdi; ret (no call: never a caller)
  const uint8_t misaligned[] = {0x53, 0x41, 0x57, 0x8b, 0xdf};  // two pushes: a call there would be misaligned
  const uint8_t late_rbp[] = {0x53, 0x55, 0x48, 0x8b, 0xec};    // push rbx; push rbp: not the runtime's frame
  const uint8_t cut[] = {0x41};                                 // the code ends before the instruction does
  EXPECT_EQ(jit_prolog_cfa_offset(nothing, sizeof nothing), -1);
  EXPECT_EQ(jit_prolog_cfa_offset(misaligned, sizeof misaligned), -1);
  EXPECT_EQ(jit_prolog_cfa_offset(late_rbp, sizeof late_rbp), -1);
  EXPECT_EQ(jit_prolog_cfa_offset(cut, sizeof cut), -1);
}
