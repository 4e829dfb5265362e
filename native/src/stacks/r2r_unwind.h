// Frame layouts of ReadyToRun code, from the image's own unwind data.
//
// The runtime's code generator keeps an RBP frame for most methods, not for small ones (in
// System.Private.CoreLib 10.0: 31k of its 50k functions have none). A frame-pointer walk passes
// over such a frameless method's caller: the callee's record holds the caller's caller's frame
// pointer. For code in a ReadyToRun image the image tells the frame: PE -> CLI header ->
// ManagedNativeHeader (READYTORUN_HEADER, "RTR") -> section RuntimeFunctions (RUNTIME_FUNCTION
// {begin, end, unwind} RVAs sorted by begin) -> Windows x64 UNWIND_INFO. On Linux the runtime's
// code generator writes the same format without a frame-register code for its RBP frames: it
// pushes RBP first and only as its frame pointer, then points RBP at that slot after the prolog.
//
// Everything here is read through an ImageView that says which bytes may be read: an unexpected
// or malformed image gives "unknown" (the walker then does what it did before), never a fault.
#pragma once
#include <cstddef>
#include <cstdint>

namespace memnb {

// Answers: an RBP frame, k > 0 (frameless, canonical frame address = stack pointer + k), unknown.
constexpr long kUnwindFramePointer = 0;
constexpr long kUnwindUnknown = -1;

// An image as the runtime mapped it (offset from base = RVA), with the parts that may be read.
struct ImageView {
  static constexpr int kMaxRanges = 8;
  const uint8_t* base = nullptr;
  uint64_t size = 0;
  int ranges = 0;
  uint64_t lo[kMaxRanges] = {}, hi[kMaxRanges] = {};  // readable [lo, hi) offsets from base
  bool readable(uint64_t offset, uint64_t length) const;
  // Little-endian fields at an offset; false when any byte of it may not be read.
  bool u16(uint64_t offset, uint16_t* out) const;
  bool u32(uint64_t offset, uint32_t* out) const;
};

// The UNWIND_INFO at unwind_rva (and the ones it chains to) for code `offset` bytes into its
// function: kUnwindFramePointer, k > 0, or kUnwindUnknown (a machine frame, an RBP saved without a
// push, an operation it does not know, bytes out of bounds).
long unwind_cfa_offset(const ImageView& image, uint32_t unwind_rva, uint32_t offset);

struct ReadyToRunImage {
  ImageView view;
  uint32_t functions_rva = 0;  // the RUNTIME_FUNCTION array
  uint32_t functions = 0;      // its entries
  uint32_t header_rva = 0;     // the READYTORUN_HEADER
};

// Finds the RuntimeFunctions of a mapped ReadyToRun image (false: not one, or not as expected).
bool ready_to_run_image(const ImageView& view, ReadyToRunImage* out);

// The frame of the function holding the code at rva (a return address): kUnwindUnknown when no
// function holds it.
long ready_to_run_cfa_offset(const ReadyToRunImage& image, uint32_t rva);

// For a managed return address: the frame its function keeps when ReadyToRun code of a mapped
// image holds it (found through /proc/self/maps, images remembered); kUnwindUnknown for other
// code (JIT-compiled code has no image to tell). Slow (reads /proc/self/maps for code it has not
// seen the mapping of): the walker asks once per address and caches the answer. No allocation
// and no stdio; a spin flag serializes callers. An image remembered is checked, with reads that
// cannot fault, to be still mapped before it is read (an unloaded one is forgotten).
// in_image (optional): set to whether a ReadyToRun image holds ret (false: JIT-compiled code, or
// code the images do not describe).
long managed_frame_cfa_offset(uintptr_t ret, bool* in_image = nullptr);

}  // namespace memnb
