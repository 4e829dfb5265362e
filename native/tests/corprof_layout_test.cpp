// Layout checks for the hand-declared profiling ABI in clr/corprof.h.
//
// The expected numbers below were counted by hand from the published
// interface definitions (corprof.idl for the profiler interfaces, cor.h for
// IMetaDataImport), with IUnknown occupying slots 0..2. If one of these fails,
// the header's method order is wrong and calls would land on the wrong method.

#include "clr/corprof.h"

#include <gtest/gtest.h>

#include <cstring>

namespace {

// Itanium C++ ABI (GCC/Clang on Linux x86-64): a pointer to a *virtual* member
// function is stored as {1 + byte offset of the slot in the vtable, this-adjust}.
template <typename PMF>
long VtableSlotOf(PMF pmf) {
    static_assert(sizeof(PMF) == 2 * sizeof(uintptr_t), "unexpected member-function-pointer size");
    uintptr_t words[2];
    std::memcpy(words, &pmf, sizeof(words));
    if ((words[0] & 1u) == 0) return -1;  // not a virtual function
    return static_cast<long>((words[0] - 1) / sizeof(void*));
}

}  // namespace

// ---------------------------------------------------------------------------
// Basic types
// ---------------------------------------------------------------------------

static_assert(sizeof(GUID) == 16, "GUID");
static_assert(sizeof(WCHAR) == 2, "WCHAR must be UTF-16");
static_assert(sizeof(ULONG) == 4 && sizeof(DWORD) == 4 && sizeof(BOOL) == 4, "32-bit scalars");
static_assert(sizeof(ObjectID) == 8 && sizeof(ClassID) == 8 && sizeof(UINT_PTR) == 8, "64-bit IDs");
static_assert(sizeof(CorElementType) == 4, "CorElementType");
static_assert(sizeof(COR_PRF_GC_GENERATION_RANGE) == 32, "COR_PRF_GC_GENERATION_RANGE");
static_assert(offsetof(COR_PRF_GC_GENERATION_RANGE, rangeStart) == 8, "rangeStart offset");
static_assert(sizeof(COR_PRF_CODE_INFO) == 16, "COR_PRF_CODE_INFO");

TEST(CorProfLayout, GuidEquality) {
    EXPECT_TRUE(IID_ICorProfilerInfo5 == IID_ICorProfilerInfo5);
    EXPECT_FALSE(IID_ICorProfilerInfo5 == IID_ICorProfilerInfo4);
    EXPECT_TRUE(IID_IUnknown != IID_IClassFactory);
    EXPECT_EQ(IID_ICorProfilerCallback11.Data1, 0x42350846u);
    EXPECT_EQ(IID_IMetaDataImport.Data1, 0x7DAC8207u);
}

TEST(CorProfLayout, EnumValues) {
    EXPECT_EQ(COR_PRF_MONITOR_GC, 0x80u);
    EXPECT_EQ(COR_PRF_ENABLE_OBJECT_ALLOCATED, 0x00800000u);
    EXPECT_EQ(COR_PRF_DISABLE_ALL_NGEN_IMAGES, 0x80000000u);
    EXPECT_EQ(COR_PRF_HIGH_BASIC_GC, 0x10u);
    EXPECT_EQ(COR_PRF_HIGH_MONITOR_PINNEDOBJECT_ALLOCATED, 0x100u);
    EXPECT_EQ(COR_PRF_GC_PINNED_OBJECT_HEAP, 4);
    EXPECT_EQ(ELEMENT_TYPE_SZARRAY, 0x1Du);
    EXPECT_EQ(tdVisibilityMask, 0x7u);
}

// ---------------------------------------------------------------------------
// Callback slots (enum values only; the callback vtable is built by hand)
// ---------------------------------------------------------------------------

TEST(CorProfLayout, CallbackSlots) {
    EXPECT_EQ(kCallbackSlotCount, 98);
    EXPECT_EQ(kSlot_Initialize, 3);
    EXPECT_EQ(kSlot_JITCompilationFinished, 24);
    EXPECT_EQ(kSlot_MovedReferences, 49);
    EXPECT_EQ(kSlot_ObjectAllocated, 50);
    EXPECT_EQ(kSlot_ThreadNameChanged, 72);
    EXPECT_EQ(kSlot_GarbageCollectionStarted, 73);
    EXPECT_EQ(kSlot_SurvivingReferences, 74);
    EXPECT_EQ(kSlot_GarbageCollectionFinished, 75);
    EXPECT_EQ(kSlot_InitializeForAttach, 80);
    EXPECT_EQ(kSlot_EventPipeEventDelivered, 95);  // sampled recording (ICorProfilerCallback10)
    EXPECT_EQ(kSlot_MovedReferences2, 87);
    EXPECT_EQ(kSlot_SurvivingReferences2, 88);
    EXPECT_EQ(kSlot_LoadAsNotificationOnly, 97);

    EXPECT_EQ(kCallbackSlotCountThroughCallback, 72);
    EXPECT_EQ(kCallbackSlotCountThroughCallback2, 80);
    EXPECT_EQ(kCallbackSlotCountThroughCallback3, 83);
    EXPECT_EQ(kCallbackSlotCountThroughCallback4, 89);
    EXPECT_EQ(kCallbackSlotCountThroughCallback11, 98);
}

// ---------------------------------------------------------------------------
// Vtable slots of the declared C++ interfaces
// ---------------------------------------------------------------------------

TEST(CorProfLayout, UnknownSlots) {
    EXPECT_EQ(VtableSlotOf(&IUnknown::QueryInterface), 0);
    EXPECT_EQ(VtableSlotOf(&IUnknown::AddRef), 1);
    EXPECT_EQ(VtableSlotOf(&IUnknown::Release), 2);
}

TEST(CorProfLayout, InfoSlots) {
    EXPECT_EQ(VtableSlotOf(&ICorProfilerInfo::GetClassFromObject), 3);
    EXPECT_EQ(VtableSlotOf(&ICorProfilerInfo::GetObjectSize), 10);
    EXPECT_EQ(VtableSlotOf(&ICorProfilerInfo::IsArrayClass), 11);
    EXPECT_EQ(VtableSlotOf(&ICorProfilerInfo::SetEventMask), 16);
    EXPECT_EQ(VtableSlotOf(&ICorProfilerInfo::GetModuleMetaData), 21);
    EXPECT_EQ(VtableSlotOf(&ICorProfilerInfo::ForceGC), 28);
    EXPECT_EQ(VtableSlotOf(&ICorProfilerInfo::GetILToNativeMapping), 35);

    EXPECT_EQ(VtableSlotOf(&ICorProfilerInfo2::DoStackSnapshot), 36);
    EXPECT_EQ(VtableSlotOf(&ICorProfilerInfo2::GetClassIDInfo2), 41);
    EXPECT_EQ(VtableSlotOf(&ICorProfilerInfo2::GetGenerationBounds), 54);
    EXPECT_EQ(VtableSlotOf(&ICorProfilerInfo2::GetObjectGeneration), 55);

    EXPECT_EQ(VtableSlotOf(&ICorProfilerInfo3::GetStringLayout2), 60);
    EXPECT_EQ(VtableSlotOf(&ICorProfilerInfo3::GetRuntimeInformation), 67);
    EXPECT_EQ(VtableSlotOf(&ICorProfilerInfo3::GetModuleInfo2), 70);

    EXPECT_EQ(VtableSlotOf(&ICorProfilerInfo4::EnumThreads), 71);
    EXPECT_EQ(VtableSlotOf(&ICorProfilerInfo4::GetObjectSize2), 80);

    EXPECT_EQ(VtableSlotOf(&ICorProfilerInfo5::GetEventMask2), 81);
    EXPECT_EQ(VtableSlotOf(&ICorProfilerInfo5::SetEventMask2), 82);

    EXPECT_EQ(VtableSlotOf(&ICorProfilerInfo10::SuspendRuntime), 97);
    EXPECT_EQ(VtableSlotOf(&ICorProfilerInfo12::EventPipeStartSession), 101);
    EXPECT_EQ(VtableSlotOf(&ICorProfilerInfo15::EnumerateGCHeapObjects), 114);

    // Last slot of each interface == declared count - 1.
    EXPECT_EQ(VtableSlotOf(&ICorProfilerInfo5::SetEventMask2), kInfoMethodCountThroughInfo5 - 1);
    EXPECT_EQ(VtableSlotOf(&ICorProfilerInfo12::EventPipeWriteEvent), kInfoMethodCountThroughInfo12 - 1);
    EXPECT_EQ(VtableSlotOf(&ICorProfilerInfo15::EnumerateGCHeapObjects), kInfoMethodCountThroughInfo15 - 1);
}

TEST(CorProfLayout, MetaDataImportSlots) {
    EXPECT_EQ(VtableSlotOf(&IMetaDataImport::CloseEnum), 3);
    EXPECT_EQ(VtableSlotOf(&IMetaDataImport::GetScopeProps), 10);
    EXPECT_EQ(VtableSlotOf(&IMetaDataImport::GetModuleFromScope), 11);
    EXPECT_EQ(VtableSlotOf(&IMetaDataImport::GetTypeDefProps), 12);
    EXPECT_EQ(VtableSlotOf(&IMetaDataImport::GetTypeRefProps), 14);
    EXPECT_EQ(VtableSlotOf(&IMetaDataImport::GetMethodProps), 30);
    EXPECT_EQ(VtableSlotOf(&IMetaDataImport::IsValidToken), 61);
    EXPECT_EQ(VtableSlotOf(&IMetaDataImport::GetNestedClassProps), 62);
    EXPECT_EQ(VtableSlotOf(&IMetaDataImport::unused_IsGlobal_), kMetaDataImportSlotCount - 1);
}
