// corprof.h - hand-written declarations of the CoreCLR profiling ABI (Linux x64).
//
// Why this file exists: no package available to this project ships corprof.h /
// cor.h, so the few COM interfaces the memory profiler needs are declared here
// by hand. Only public facts are carried over from the runtime's published
// interface definitions (corprof.idl, cor.h): method order, parameter types,
// interface GUIDs and enum values. Everything else is written for this project.
//
// Ground rules for editing:
//   * Vtable slot order is the whole contract. Never insert, remove or reorder a
//     virtual method; never add a virtual destructor (it would shift every slot).
//   * Target ABI is SysV x86-64 (CoreCLR on Linux): no __stdcall, WCHAR is
//     16-bit, `long` is never used (ULONG is 32-bit as on Windows).
//   * Methods that are awkward or of no interest may be declared as
//     `unused_<Name>_()`; the parameter list does not affect the slot.
//   * native/tests/corprof_layout_test.cpp checks slot indices against the
//     counts taken from the published definitions.

#ifndef PROFILER_CLR_CORPROF_H_
#define PROFILER_CLR_CORPROF_H_

#include <cstddef>
#include <cstdint>

// ===========================================================================
// 1. Basic Windows/COM types as the CoreCLR PAL defines them on Linux x64
// ===========================================================================

using HRESULT = int32_t;
using ULONG = uint32_t;
using LONG = int32_t;
using DWORD = uint32_t;
using BOOL = int32_t;
using BYTE = uint8_t;
using USHORT = uint16_t;
using UINT = uint32_t;
using UINT8 = uint8_t;
using UINT32 = uint32_t;
using UINT64 = uint64_t;
using ULONG32 = uint32_t;
using LONG32 = int32_t;
using ULONG64 = uint64_t;
using INT_PTR = intptr_t;
using UINT_PTR = uintptr_t;
using SIZE_T = size_t;
using WCHAR = char16_t;
using LPWSTR = WCHAR*;
using LPCWSTR = const WCHAR*;
using LPCBYTE = const BYTE*;
using LPBYTE = BYTE*;
using HANDLE = void*;

struct GUID {
    uint32_t Data1;
    uint16_t Data2;
    uint16_t Data3;
    uint8_t Data4[8];
};
using IID = GUID;
using CLSID = GUID;
using REFIID = const GUID&;
using REFGUID = const GUID&;
using REFCLSID = const GUID&;
using LPCGUID = const GUID*;

inline bool operator==(const GUID& a, const GUID& b) {
    if (a.Data1 != b.Data1 || a.Data2 != b.Data2 || a.Data3 != b.Data3) return false;
    for (int i = 0; i < 8; ++i) {
        if (a.Data4[i] != b.Data4[i]) return false;
    }
    return true;
}
inline bool operator!=(const GUID& a, const GUID& b) { return !(a == b); }

// HRESULT values used by the profiler (numeric values are the standard ones).
inline constexpr HRESULT S_OK = 0;
inline constexpr HRESULT S_FALSE = 1;
inline constexpr HRESULT E_NOTIMPL = static_cast<HRESULT>(0x80004001u);
inline constexpr HRESULT E_NOINTERFACE = static_cast<HRESULT>(0x80004002u);
inline constexpr HRESULT E_POINTER = static_cast<HRESULT>(0x80004003u);
inline constexpr HRESULT E_FAIL = static_cast<HRESULT>(0x80004005u);
inline constexpr HRESULT E_UNEXPECTED = static_cast<HRESULT>(0x8000FFFFu);
inline constexpr HRESULT E_OUTOFMEMORY = static_cast<HRESULT>(0x8007000Eu);
inline constexpr HRESULT E_INVALIDARG = static_cast<HRESULT>(0x80070057u);
inline constexpr HRESULT CLASS_E_NOAGGREGATION = static_cast<HRESULT>(0x80040110u);
inline constexpr HRESULT CLASS_E_CLASSNOTAVAILABLE = static_cast<HRESULT>(0x80040111u);
inline constexpr HRESULT CORPROF_E_UNSUPPORTED_FOR_ATTACHING_PROFILER =
    static_cast<HRESULT>(0x8013136Fu);

inline constexpr bool SUCCEEDED(HRESULT hr) { return hr >= 0; }
inline constexpr bool FAILED(HRESULT hr) { return hr < 0; }

// ===========================================================================
// 2. Runtime handle types
// ===========================================================================

using ProcessID = uintptr_t;
using AssemblyID = uintptr_t;
using AppDomainID = uintptr_t;
using ModuleID = uintptr_t;
using ClassID = uintptr_t;
using ThreadID = uintptr_t;
using ContextID = uintptr_t;
using FunctionID = uintptr_t;
using ObjectID = uintptr_t;
using GCHandleID = uintptr_t;
using ReJITID = uintptr_t;
using COR_PRF_ELT_INFO = uintptr_t;
using COR_PRF_FRAME_INFO = uintptr_t;
using EVENTPIPE_PROVIDER = uintptr_t;
using EVENTPIPE_EVENT = uintptr_t;
using EVENTPIPE_SESSION = uint64_t;
using ObjectHandleID = void**;

union FunctionIDOrClientID {
    FunctionID functionID;
    UINT_PTR clientID;
};

// Metadata tokens (high byte = table, low 24 bits = row).
using mdToken = uint32_t;
using mdModule = mdToken;
using mdTypeRef = mdToken;
using mdTypeDef = mdToken;
using mdFieldDef = mdToken;
using mdMethodDef = mdToken;
using mdParamDef = mdToken;
using mdInterfaceImpl = mdToken;
using mdMemberRef = mdToken;
using mdCustomAttribute = mdToken;
using mdPermission = mdToken;
using mdSignature = mdToken;
using mdEvent = mdToken;
using mdProperty = mdToken;
using mdModuleRef = mdToken;
using mdTypeSpec = mdToken;
using mdString = mdToken;

using COR_SIGNATURE = uint8_t;
using PCOR_SIGNATURE = COR_SIGNATURE*;
using PCCOR_SIGNATURE = const COR_SIGNATURE*;
using HCORENUM = void*;
using UVCP_CONSTANT = const void*;
using MDUTF8CSTR = const char*;

inline constexpr mdToken mdTokenNil = 0;
inline constexpr mdToken mdtModule = 0x00000000;
inline constexpr mdToken mdtTypeRef = 0x01000000;
inline constexpr mdToken mdtTypeDef = 0x02000000;
inline constexpr mdToken mdtFieldDef = 0x04000000;
inline constexpr mdToken mdtMethodDef = 0x06000000;
inline constexpr mdToken mdtMemberRef = 0x0A000000;
inline constexpr mdToken mdtModuleRef = 0x1A000000;
inline constexpr mdToken mdtTypeSpec = 0x1B000000;
inline constexpr mdToken mdtAssembly = 0x20000000;
inline constexpr mdToken mdtAssemblyRef = 0x23000000;
inline constexpr mdToken mdtMethodSpec = 0x2B000000;

inline constexpr mdToken TypeFromToken(mdToken tk) { return tk & 0xFF000000u; }
inline constexpr mdToken RidFromToken(mdToken tk) { return tk & 0x00FFFFFFu; }

// TypeDef visibility flags (CorTypeAttr subset) and metadata open flags.
inline constexpr DWORD tdVisibilityMask = 0x00000007;
inline constexpr DWORD tdNotPublic = 0x00000000;
inline constexpr DWORD tdPublic = 0x00000001;
inline constexpr DWORD tdNestedPublic = 0x00000002;
inline constexpr DWORD tdNestedPrivate = 0x00000003;
inline constexpr DWORD tdNestedFamily = 0x00000004;
inline constexpr DWORD tdNestedAssembly = 0x00000005;
inline constexpr DWORD tdNestedFamANDAssem = 0x00000006;
inline constexpr DWORD tdNestedFamORAssem = 0x00000007;

inline constexpr bool IsTdNested(DWORD flags) {
    return (flags & tdVisibilityMask) >= tdNestedPublic;
}

inline constexpr DWORD ofRead = 0x00000000;
inline constexpr DWORD ofWrite = 0x00000001;

// Element types (ECMA-335 II.23.1.16); IsArrayClass reports one of these.
enum CorElementType : uint32_t {
    ELEMENT_TYPE_END = 0x00,
    ELEMENT_TYPE_VOID = 0x01,
    ELEMENT_TYPE_BOOLEAN = 0x02,
    ELEMENT_TYPE_CHAR = 0x03,
    ELEMENT_TYPE_I1 = 0x04,
    ELEMENT_TYPE_U1 = 0x05,
    ELEMENT_TYPE_I2 = 0x06,
    ELEMENT_TYPE_U2 = 0x07,
    ELEMENT_TYPE_I4 = 0x08,
    ELEMENT_TYPE_U4 = 0x09,
    ELEMENT_TYPE_I8 = 0x0A,
    ELEMENT_TYPE_U8 = 0x0B,
    ELEMENT_TYPE_R4 = 0x0C,
    ELEMENT_TYPE_R8 = 0x0D,
    ELEMENT_TYPE_STRING = 0x0E,
    ELEMENT_TYPE_PTR = 0x0F,
    ELEMENT_TYPE_BYREF = 0x10,
    ELEMENT_TYPE_VALUETYPE = 0x11,
    ELEMENT_TYPE_CLASS = 0x12,
    ELEMENT_TYPE_VAR = 0x13,
    ELEMENT_TYPE_ARRAY = 0x14,
    ELEMENT_TYPE_GENERICINST = 0x15,
    ELEMENT_TYPE_TYPEDBYREF = 0x16,
    ELEMENT_TYPE_I = 0x18,
    ELEMENT_TYPE_U = 0x19,
    ELEMENT_TYPE_FNPTR = 0x1B,
    ELEMENT_TYPE_OBJECT = 0x1C,
    ELEMENT_TYPE_SZARRAY = 0x1D,
    ELEMENT_TYPE_MVAR = 0x1E,
    ELEMENT_TYPE_CMOD_REQD = 0x1F,
    ELEMENT_TYPE_CMOD_OPT = 0x20,
    ELEMENT_TYPE_INTERNAL = 0x21,
    ELEMENT_TYPE_MAX = 0x22,
    ELEMENT_TYPE_MODIFIER = 0x40,
    ELEMENT_TYPE_SENTINEL = 0x41,
    ELEMENT_TYPE_PINNED = 0x45,
};

// ===========================================================================
// 3. Interface IDs
// ===========================================================================

inline constexpr GUID IID_IUnknown = {0x00000000, 0x0000, 0x0000, {0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46}};
inline constexpr GUID IID_IClassFactory = {0x00000001, 0x0000, 0x0000, {0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46}};

inline constexpr GUID IID_ICorProfilerCallback = {0x176FBED1, 0xA55C, 0x4796, {0x98, 0xCA, 0xA9, 0xDA, 0x0E, 0xF8, 0x83, 0xE7}};
inline constexpr GUID IID_ICorProfilerCallback2 = {0x8A8CC829, 0xCCF2, 0x49FE, {0xBB, 0xAE, 0x0F, 0x02, 0x22, 0x28, 0x07, 0x1A}};
inline constexpr GUID IID_ICorProfilerCallback3 = {0x4FD2ED52, 0x7731, 0x4B8D, {0x94, 0x69, 0x03, 0xD2, 0xCC, 0x30, 0x86, 0xC5}};
inline constexpr GUID IID_ICorProfilerCallback4 = {0x7B63B2E3, 0x107D, 0x4D48, {0xB2, 0xF6, 0xF6, 0x1E, 0x22, 0x94, 0x70, 0xD2}};
inline constexpr GUID IID_ICorProfilerCallback5 = {0x8DFBA405, 0x8C9F, 0x45F8, {0xBF, 0xFA, 0x83, 0xB1, 0x4C, 0xEF, 0x78, 0xB5}};
inline constexpr GUID IID_ICorProfilerCallback6 = {0xFC13DF4B, 0x4448, 0x4F4F, {0x95, 0x0C, 0xBA, 0x8D, 0x19, 0xD0, 0x0C, 0x36}};
inline constexpr GUID IID_ICorProfilerCallback7 = {0xF76A2DBA, 0x1D52, 0x4539, {0x86, 0x6C, 0x2A, 0xA5, 0x18, 0xF9, 0xEF, 0xC3}};
inline constexpr GUID IID_ICorProfilerCallback8 = {0x5BED9B15, 0xC079, 0x4D47, {0xBF, 0xE2, 0x21, 0x5A, 0x14, 0x0C, 0x07, 0xE0}};
inline constexpr GUID IID_ICorProfilerCallback9 = {0x27583EC3, 0xC8F5, 0x482F, {0x80, 0x52, 0x19, 0x4B, 0x8C, 0xE4, 0x70, 0x5A}};
inline constexpr GUID IID_ICorProfilerCallback10 = {0xCEC5B60E, 0xC69C, 0x495F, {0x87, 0xF6, 0x84, 0xD2, 0x8E, 0xE1, 0x6F, 0xFB}};
inline constexpr GUID IID_ICorProfilerCallback11 = {0x42350846, 0xAAED, 0x47F7, {0xB1, 0x28, 0xFD, 0x0C, 0x98, 0x88, 0x1C, 0xDE}};

inline constexpr GUID IID_ICorProfilerInfo = {0x28B5557D, 0x3F3F, 0x48B4, {0x90, 0xB2, 0x5F, 0x9E, 0xEA, 0x2F, 0x6C, 0x48}};
inline constexpr GUID IID_ICorProfilerInfo2 = {0xCC0935CD, 0xA518, 0x487D, {0xB0, 0xBB, 0xA9, 0x32, 0x14, 0xE6, 0x54, 0x78}};
inline constexpr GUID IID_ICorProfilerInfo3 = {0xB555ED4F, 0x452A, 0x4E54, {0x8B, 0x39, 0xB5, 0x36, 0x0B, 0xAD, 0x32, 0xA0}};
inline constexpr GUID IID_ICorProfilerInfo4 = {0x0D8FDCAA, 0x6257, 0x47BF, {0xB1, 0xBF, 0x94, 0xDA, 0xC8, 0x84, 0x66, 0xEE}};
inline constexpr GUID IID_ICorProfilerInfo5 = {0x07602928, 0xCE38, 0x4B83, {0x81, 0xE7, 0x74, 0xAD, 0xAF, 0x78, 0x12, 0x14}};
inline constexpr GUID IID_ICorProfilerInfo6 = {0xF30A070D, 0xBFFB, 0x46A7, {0xB1, 0xD8, 0x87, 0x81, 0xEF, 0x7B, 0x69, 0x8A}};
inline constexpr GUID IID_ICorProfilerInfo7 = {0x9AEECC0D, 0x63E0, 0x4187, {0x8C, 0x00, 0xE3, 0x12, 0xF5, 0x03, 0xF6, 0x63}};
inline constexpr GUID IID_ICorProfilerInfo8 = {0xC5AC80A6, 0x782E, 0x4716, {0x80, 0x44, 0x39, 0x59, 0x8C, 0x60, 0xCF, 0xBF}};
inline constexpr GUID IID_ICorProfilerInfo9 = {0x008170DB, 0xF8CC, 0x4796, {0x9A, 0x51, 0xDC, 0x8A, 0xA0, 0xB4, 0x70, 0x12}};
inline constexpr GUID IID_ICorProfilerInfo10 = {0x2F1B5152, 0xC869, 0x40C9, {0xAA, 0x5F, 0x3A, 0xBE, 0x02, 0x6B, 0xD7, 0x20}};
inline constexpr GUID IID_ICorProfilerInfo11 = {0x06398876, 0x8987, 0x4154, {0xB6, 0x21, 0x40, 0xA0, 0x0D, 0x6E, 0x4D, 0x04}};
inline constexpr GUID IID_ICorProfilerInfo12 = {0x27B24CCD, 0x1CB1, 0x47C5, {0x96, 0xEE, 0x98, 0x19, 0x0D, 0xC3, 0x09, 0x59}};
inline constexpr GUID IID_ICorProfilerInfo13 = {0x6E6C7EE2, 0x0701, 0x4EC2, {0x9D, 0x29, 0x2E, 0x87, 0x33, 0xB6, 0x69, 0x34}};
inline constexpr GUID IID_ICorProfilerInfo14 = {0xF460E352, 0xD76D, 0x4FE9, {0x83, 0x5F, 0xF6, 0xAF, 0x9D, 0x6E, 0x86, 0x2D}};
inline constexpr GUID IID_ICorProfilerInfo15 = {0xB446462D, 0xBD22, 0x41DD, {0x87, 0x2D, 0xDC, 0x71, 0x4C, 0x49, 0xEB, 0x56}};

inline constexpr GUID IID_ICorProfilerObjectEnum = {0x2C6269BD, 0x2D13, 0x4321, {0xAE, 0x12, 0x66, 0x86, 0x36, 0x5F, 0xD6, 0xAF}};
inline constexpr GUID IID_ICorProfilerFunctionEnum = {0xFF71301A, 0xB994, 0x429D, {0xA1, 0x0B, 0xB3, 0x45, 0xA6, 0x52, 0x80, 0xEF}};
inline constexpr GUID IID_ICorProfilerModuleEnum = {0xB0266D75, 0x2081, 0x4493, {0xAF, 0x7F, 0x02, 0x8B, 0xA3, 0x4D, 0xB8, 0x91}};
inline constexpr GUID IID_ICorProfilerThreadEnum = {0x571194F7, 0x25ED, 0x419F, {0xAA, 0x8B, 0x70, 0x16, 0xB3, 0x15, 0x97, 0x01}};
inline constexpr GUID IID_ICorProfilerMethodEnum = {0xFCCEE788, 0x0088, 0x454B, {0xA8, 0x11, 0xC9, 0x9F, 0x29, 0x8D, 0x19, 0x42}};

inline constexpr GUID IID_IMetaDataImport = {0x7DAC8207, 0xD3AE, 0x4C75, {0x9B, 0x67, 0x92, 0x80, 0x1A, 0x49, 0x7D, 0x44}};

// ===========================================================================
// 4. Profiling enums and structs
// ===========================================================================

// Event mask, low word (SetEventMask / first argument of SetEventMask2).
enum COR_PRF_MONITOR : uint32_t {
    COR_PRF_MONITOR_NONE = 0x00000000,
    COR_PRF_MONITOR_FUNCTION_UNLOADS = 0x00000001,
    COR_PRF_MONITOR_CLASS_LOADS = 0x00000002,
    COR_PRF_MONITOR_MODULE_LOADS = 0x00000004,
    COR_PRF_MONITOR_ASSEMBLY_LOADS = 0x00000008,
    COR_PRF_MONITOR_APPDOMAIN_LOADS = 0x00000010,
    COR_PRF_MONITOR_JIT_COMPILATION = 0x00000020,
    COR_PRF_MONITOR_EXCEPTIONS = 0x00000040,
    COR_PRF_MONITOR_GC = 0x00000080,
    COR_PRF_MONITOR_OBJECT_ALLOCATED = 0x00000100,
    COR_PRF_MONITOR_THREADS = 0x00000200,
    COR_PRF_MONITOR_REMOTING = 0x00000400,
    COR_PRF_MONITOR_CODE_TRANSITIONS = 0x00000800,
    COR_PRF_MONITOR_ENTERLEAVE = 0x00001000,
    COR_PRF_MONITOR_CCW = 0x00002000,
    COR_PRF_MONITOR_REMOTING_COOKIE = 0x00004000 | COR_PRF_MONITOR_REMOTING,
    COR_PRF_MONITOR_REMOTING_ASYNC = 0x00008000 | COR_PRF_MONITOR_REMOTING,
    COR_PRF_MONITOR_SUSPENDS = 0x00010000,
    COR_PRF_MONITOR_CACHE_SEARCHES = 0x00020000,
    COR_PRF_ENABLE_REJIT = 0x00040000,
    COR_PRF_ENABLE_INPROC_DEBUGGING = 0x00080000,
    COR_PRF_ENABLE_JIT_MAPS = 0x00100000,
    COR_PRF_DISABLE_INLINING = 0x00200000,
    COR_PRF_DISABLE_OPTIMIZATIONS = 0x00400000,
    COR_PRF_ENABLE_OBJECT_ALLOCATED = 0x00800000,
    COR_PRF_MONITOR_CLR_EXCEPTIONS = 0x01000000,
    COR_PRF_MONITOR_ALL = 0x0107FFFF,
    COR_PRF_ENABLE_FUNCTION_ARGS = 0x02000000,
    COR_PRF_ENABLE_FUNCTION_RETVAL = 0x04000000,
    COR_PRF_ENABLE_FRAME_INFO = 0x08000000,
    COR_PRF_ENABLE_STACK_SNAPSHOT = 0x10000000,
    COR_PRF_USE_PROFILE_IMAGES = 0x20000000,
    COR_PRF_DISABLE_TRANSPARENCY_CHECKS_UNDER_FULL_TRUST = 0x40000000,
    COR_PRF_DISABLE_ALL_NGEN_IMAGES = 0x80000000,
    COR_PRF_ALL = 0x8FFFFFFF,

    // Bits a profiler attached after startup may request.
    COR_PRF_ALLOWABLE_AFTER_ATTACH =
        COR_PRF_MONITOR_THREADS | COR_PRF_MONITOR_MODULE_LOADS | COR_PRF_MONITOR_ASSEMBLY_LOADS |
        COR_PRF_MONITOR_APPDOMAIN_LOADS | COR_PRF_ENABLE_STACK_SNAPSHOT | COR_PRF_MONITOR_GC |
        COR_PRF_MONITOR_SUSPENDS | COR_PRF_MONITOR_CLASS_LOADS | COR_PRF_MONITOR_EXCEPTIONS |
        COR_PRF_MONITOR_JIT_COMPILATION | COR_PRF_DISABLE_INLINING | COR_PRF_DISABLE_OPTIMIZATIONS |
        COR_PRF_ENABLE_REJIT,

    // Bits that can only be set from Initialize.
    COR_PRF_MONITOR_IMMUTABLE =
        COR_PRF_MONITOR_CODE_TRANSITIONS | COR_PRF_MONITOR_REMOTING | COR_PRF_MONITOR_REMOTING_COOKIE |
        COR_PRF_MONITOR_REMOTING_ASYNC | COR_PRF_ENABLE_INPROC_DEBUGGING | COR_PRF_ENABLE_JIT_MAPS |
        COR_PRF_ENABLE_OBJECT_ALLOCATED | COR_PRF_ENABLE_FUNCTION_ARGS | COR_PRF_ENABLE_FUNCTION_RETVAL |
        COR_PRF_ENABLE_FRAME_INFO | COR_PRF_USE_PROFILE_IMAGES |
        COR_PRF_DISABLE_TRANSPARENCY_CHECKS_UNDER_FULL_TRUST | COR_PRF_DISABLE_ALL_NGEN_IMAGES,
};

// Event mask, high word (second argument of SetEventMask2).
enum COR_PRF_HIGH_MONITOR : uint32_t {
    COR_PRF_HIGH_MONITOR_NONE = 0x00000000,
    COR_PRF_HIGH_ADD_ASSEMBLY_REFERENCES = 0x00000001,
    COR_PRF_HIGH_IN_MEMORY_SYMBOLS_UPDATED = 0x00000002,
    COR_PRF_HIGH_MONITOR_DYNAMIC_FUNCTION_UNLOADS = 0x00000004,
    COR_PRF_HIGH_DISABLE_TIERED_COMPILATION = 0x00000008,
    COR_PRF_HIGH_BASIC_GC = 0x00000010,
    COR_PRF_HIGH_MONITOR_GC_MOVED_OBJECTS = 0x00000020,
    COR_PRF_HIGH_REQUIRE_PROFILE_IMAGE = 0x00000000,
    COR_PRF_HIGH_MONITOR_LARGEOBJECT_ALLOCATED = 0x00000040,
    COR_PRF_HIGH_MONITOR_EVENT_PIPE = 0x00000080,
    COR_PRF_HIGH_MONITOR_PINNEDOBJECT_ALLOCATED = 0x00000100,

    COR_PRF_HIGH_ALLOWABLE_AFTER_ATTACH =
        COR_PRF_HIGH_IN_MEMORY_SYMBOLS_UPDATED | COR_PRF_HIGH_MONITOR_DYNAMIC_FUNCTION_UNLOADS |
        COR_PRF_HIGH_BASIC_GC | COR_PRF_HIGH_MONITOR_GC_MOVED_OBJECTS |
        COR_PRF_HIGH_MONITOR_LARGEOBJECT_ALLOCATED | COR_PRF_HIGH_MONITOR_EVENT_PIPE,

    COR_PRF_HIGH_MONITOR_IMMUTABLE = COR_PRF_HIGH_DISABLE_TIERED_COMPILATION,
};

enum COR_PRF_GC_GENERATION : int32_t {
    COR_PRF_GC_GEN_0 = 0,
    COR_PRF_GC_GEN_1 = 1,
    COR_PRF_GC_GEN_2 = 2,
    COR_PRF_GC_LARGE_OBJECT_HEAP = 3,
    COR_PRF_GC_PINNED_OBJECT_HEAP = 4,
};

enum COR_PRF_GC_REASON : int32_t {
    COR_PRF_GC_OTHER = 0,
    COR_PRF_GC_INDUCED = 1,
};

enum COR_PRF_GC_ROOT_KIND : int32_t {
    COR_PRF_GC_ROOT_OTHER = 0,
    COR_PRF_GC_ROOT_STACK = 1,
    COR_PRF_GC_ROOT_FINALIZER = 2,
    COR_PRF_GC_ROOT_HANDLE = 3,
};

enum COR_PRF_GC_ROOT_FLAGS : int32_t {
    COR_PRF_GC_ROOT_PINNING = 0x1,
    COR_PRF_GC_ROOT_WEAKREF = 0x2,
    COR_PRF_GC_ROOT_INTERIOR = 0x4,
    COR_PRF_GC_ROOT_REFCOUNTED = 0x8,
};

enum COR_PRF_FINALIZER_FLAGS : int32_t {
    COR_PRF_FINALIZER_CRITICAL = 0x1,
};

enum COR_PRF_SUSPEND_REASON : int32_t {
    COR_PRF_SUSPEND_OTHER = 0,
    COR_PRF_SUSPEND_FOR_GC = 1,
    COR_PRF_SUSPEND_FOR_APPDOMAIN_SHUTDOWN = 2,
    COR_PRF_SUSPEND_FOR_CODE_PITCHING = 3,
    COR_PRF_SUSPEND_FOR_SHUTDOWN = 4,
    COR_PRF_SUSPEND_FOR_INPROC_DEBUGGER = 6,
    COR_PRF_SUSPEND_FOR_GC_PREP = 7,
    COR_PRF_SUSPEND_FOR_REJIT = 8,
    COR_PRF_SUSPEND_FOR_PROFILER = 9,
};

enum COR_PRF_JIT_CACHE : int32_t {
    COR_PRF_CACHED_FUNCTION_FOUND = 0,
    COR_PRF_CACHED_FUNCTION_NOT_FOUND = 1,
};

enum COR_PRF_TRANSITION_REASON : int32_t {
    COR_PRF_TRANSITION_CALL = 0,
    COR_PRF_TRANSITION_RETURN = 1,
};

enum COR_PRF_RUNTIME_TYPE : int32_t {
    COR_PRF_DESKTOP_CLR = 0x1,
    COR_PRF_CORE_CLR = 0x2,
};

enum COR_PRF_MODULE_FLAGS : int32_t {
    COR_PRF_MODULE_DISK = 0x01,
    COR_PRF_MODULE_NGEN = 0x02,
    COR_PRF_MODULE_DYNAMIC = 0x04,
    COR_PRF_MODULE_COLLECTIBLE = 0x08,
    COR_PRF_MODULE_RESOURCE = 0x10,
    COR_PRF_MODULE_FLAT_LAYOUT = 0x20,
    COR_PRF_MODULE_WINDOWS_RUNTIME = 0x40,
};

enum COR_PRF_SNAPSHOT_INFO : int32_t {
    COR_PRF_SNAPSHOT_DEFAULT = 0x0,
    COR_PRF_SNAPSHOT_REGISTER_CONTEXT = 0x1,
    COR_PRF_SNAPSHOT_X86_OPTIMIZED = 0x2,
};

enum COR_PRF_STATIC_TYPE : int32_t {
    COR_PRF_FIELD_NOT_A_STATIC = 0x0,
    COR_PRF_FIELD_APP_DOMAIN_STATIC = 0x1,
    COR_PRF_FIELD_THREAD_STATIC = 0x2,
    COR_PRF_FIELD_CONTEXT_STATIC = 0x4,
    COR_PRF_FIELD_RVA_STATIC = 0x8,
};

enum COR_PRF_CLAUSE_TYPE : int32_t {
    COR_PRF_CLAUSE_NONE = 0,
    COR_PRF_CLAUSE_FILTER = 1,
    COR_PRF_CLAUSE_CATCH = 2,
    COR_PRF_CLAUSE_FINALLY = 3,
};

enum COR_PRF_HANDLE_TYPE : int32_t {
    COR_PRF_HANDLE_TYPE_WEAK = 0x1,
    COR_PRF_HANDLE_TYPE_STRONG = 0x2,
    COR_PRF_HANDLE_TYPE_PINNED = 0x3,
};

struct COR_PRF_GC_GENERATION_RANGE {
    COR_PRF_GC_GENERATION generation;
    ObjectID rangeStart;
    UINT_PTR rangeLength;          // bytes in use
    UINT_PTR rangeLengthReserved;  // bytes reserved (>= rangeLength)
};

struct COR_PRF_NONGC_HEAP_RANGE {
    ObjectID rangeStart;
    UINT_PTR rangeLength;
    UINT_PTR rangeLengthReserved;
};

struct COR_PRF_CODE_INFO {
    UINT_PTR startAddress;
    SIZE_T size;
};

struct COR_PRF_FUNCTION {
    FunctionID functionId;
    ReJITID reJitId;
};

struct COR_PRF_METHOD {
    ModuleID moduleId;
    mdMethodDef methodId;
};

struct COR_PRF_FUNCTION_ARGUMENT_RANGE {
    UINT_PTR startAddress;
    ULONG length;
};

struct COR_PRF_FUNCTION_ARGUMENT_INFO {
    ULONG numRanges;
    ULONG totalArgumentSize;
    COR_PRF_FUNCTION_ARGUMENT_RANGE ranges[1];
};

struct COR_PRF_EX_CLAUSE_INFO {
    COR_PRF_CLAUSE_TYPE clauseType;
    UINT_PTR programCounter;
    UINT_PTR framePointer;
    UINT_PTR shadowStackPointer;
};

struct COR_IL_MAP {
    ULONG32 oldOffset;
    ULONG32 newOffset;
    BOOL fAccurate;
};

struct COR_DEBUG_IL_TO_NATIVE_MAP {
    ULONG32 ilOffset;
    ULONG32 nativeStartOffset;
    ULONG32 nativeEndOffset;
};

struct COR_FIELD_OFFSET {
    mdFieldDef ridOfField;
    ULONG ulOffset;
};

struct COR_PRF_EVENTPIPE_PROVIDER_CONFIG {
    const WCHAR* providerName;
    UINT64 keywords;
    UINT32 loggingLevel;
    const WCHAR* filterData;
};

struct COR_PRF_EVENTPIPE_PARAM_DESC {
    UINT32 type;
    UINT32 elementType;
    const WCHAR* name;
};

struct COR_PRF_EVENT_DATA {
    UINT64 ptr;
    UINT32 size;
    UINT32 reserved;
};

struct COR_PRF_FILTER_DATA {
    UINT64 Ptr;
    UINT32 Size;
    UINT32 Type;
};

// Hook and callback function types taken by ICorProfilerInfo* methods.
// (These are plain SysV functions on Linux; the ELT hooks additionally must
// preserve all registers, which is the implementer's problem, not the type's.)
using FunctionEnter = void(FunctionID funcId);
using FunctionLeave = void(FunctionID funcId);
using FunctionTailcall = void(FunctionID funcId);
using FunctionEnter2 = void(FunctionID funcId, UINT_PTR clientData, COR_PRF_FRAME_INFO func,
                            COR_PRF_FUNCTION_ARGUMENT_INFO* argumentInfo);
using FunctionLeave2 = void(FunctionID funcId, UINT_PTR clientData, COR_PRF_FRAME_INFO func,
                            COR_PRF_FUNCTION_ARGUMENT_RANGE* retvalRange);
using FunctionTailcall2 = void(FunctionID funcId, UINT_PTR clientData, COR_PRF_FRAME_INFO func);
using FunctionEnter3 = void(FunctionIDOrClientID functionIDOrClientID);
using FunctionLeave3 = void(FunctionIDOrClientID functionIDOrClientID);
using FunctionTailcall3 = void(FunctionIDOrClientID functionIDOrClientID);
using FunctionEnter3WithInfo = void(FunctionIDOrClientID functionIDOrClientID, COR_PRF_ELT_INFO eltInfo);
using FunctionLeave3WithInfo = void(FunctionIDOrClientID functionIDOrClientID, COR_PRF_ELT_INFO eltInfo);
using FunctionTailcall3WithInfo = void(FunctionIDOrClientID functionIDOrClientID, COR_PRF_ELT_INFO eltInfo);
using FunctionIDMapper = UINT_PTR(FunctionID funcId, BOOL* pbHookFunction);
using FunctionIDMapper2 = UINT_PTR(FunctionID funcId, void* clientData, BOOL* pbHookFunction);
using StackSnapshotCallback = HRESULT(FunctionID funcId, UINT_PTR ip, COR_PRF_FRAME_INFO frameInfo,
                                      ULONG32 contextSize, BYTE context[], void* clientData);
using ObjectReferenceCallback = BOOL(ObjectID root, ObjectID* reference, void* clientData);
using ObjectCallback = BOOL (*)(ObjectID object, void* callbackState);
using EventPipeProviderCallback = void(const UINT8* sourceId, UINT32 isEnabled, UINT8 level,
                                       UINT64 matchAnyKeywords, UINT64 matchAllKeywords,
                                       COR_PRF_FILTER_DATA* filterData, void* callbackData);

// ===========================================================================
// 5. Callback side: ICorProfilerCallback .. ICorProfilerCallback11
// ===========================================================================
//
// The profiler's callback object is built as a hand-made vtable (an array of
// function pointers indexed by CallbackSlot), so no C++ class is declared for
// it. Each interface version only appends slots, so one table of
// kCallbackSlotCount entries serves every ICorProfilerCallbackN IID.
// Every entry receives the object pointer as its first argument (`void* self`).

enum CallbackSlot : int {
    // IUnknown
    kSlot_QueryInterface = 0,
    kSlot_AddRef = 1,
    kSlot_Release = 2,

    // ICorProfilerCallback
    kSlot_Initialize = 3,
    kSlot_Shutdown = 4,
    kSlot_AppDomainCreationStarted = 5,
    kSlot_AppDomainCreationFinished = 6,
    kSlot_AppDomainShutdownStarted = 7,
    kSlot_AppDomainShutdownFinished = 8,
    kSlot_AssemblyLoadStarted = 9,
    kSlot_AssemblyLoadFinished = 10,
    kSlot_AssemblyUnloadStarted = 11,
    kSlot_AssemblyUnloadFinished = 12,
    kSlot_ModuleLoadStarted = 13,
    kSlot_ModuleLoadFinished = 14,
    kSlot_ModuleUnloadStarted = 15,
    kSlot_ModuleUnloadFinished = 16,
    kSlot_ModuleAttachedToAssembly = 17,
    kSlot_ClassLoadStarted = 18,
    kSlot_ClassLoadFinished = 19,
    kSlot_ClassUnloadStarted = 20,
    kSlot_ClassUnloadFinished = 21,
    kSlot_FunctionUnloadStarted = 22,
    kSlot_JITCompilationStarted = 23,
    kSlot_JITCompilationFinished = 24,
    kSlot_JITCachedFunctionSearchStarted = 25,
    kSlot_JITCachedFunctionSearchFinished = 26,
    kSlot_JITFunctionPitched = 27,
    kSlot_JITInlining = 28,
    kSlot_ThreadCreated = 29,
    kSlot_ThreadDestroyed = 30,
    kSlot_ThreadAssignedToOSThread = 31,
    kSlot_RemotingClientInvocationStarted = 32,
    kSlot_RemotingClientSendingMessage = 33,
    kSlot_RemotingClientReceivingReply = 34,
    kSlot_RemotingClientInvocationFinished = 35,
    kSlot_RemotingServerReceivingMessage = 36,
    kSlot_RemotingServerInvocationStarted = 37,
    kSlot_RemotingServerInvocationReturned = 38,
    kSlot_RemotingServerSendingReply = 39,
    kSlot_UnmanagedToManagedTransition = 40,
    kSlot_ManagedToUnmanagedTransition = 41,
    kSlot_RuntimeSuspendStarted = 42,
    kSlot_RuntimeSuspendFinished = 43,
    kSlot_RuntimeSuspendAborted = 44,
    kSlot_RuntimeResumeStarted = 45,
    kSlot_RuntimeResumeFinished = 46,
    kSlot_RuntimeThreadSuspended = 47,
    kSlot_RuntimeThreadResumed = 48,
    kSlot_MovedReferences = 49,
    kSlot_ObjectAllocated = 50,
    kSlot_ObjectsAllocatedByClass = 51,
    kSlot_ObjectReferences = 52,
    kSlot_RootReferences = 53,
    kSlot_ExceptionThrown = 54,
    kSlot_ExceptionSearchFunctionEnter = 55,
    kSlot_ExceptionSearchFunctionLeave = 56,
    kSlot_ExceptionSearchFilterEnter = 57,
    kSlot_ExceptionSearchFilterLeave = 58,
    kSlot_ExceptionSearchCatcherFound = 59,
    kSlot_ExceptionOSHandlerEnter = 60,
    kSlot_ExceptionOSHandlerLeave = 61,
    kSlot_ExceptionUnwindFunctionEnter = 62,
    kSlot_ExceptionUnwindFunctionLeave = 63,
    kSlot_ExceptionUnwindFinallyEnter = 64,
    kSlot_ExceptionUnwindFinallyLeave = 65,
    kSlot_ExceptionCatcherEnter = 66,
    kSlot_ExceptionCatcherLeave = 67,
    kSlot_COMClassicVTableCreated = 68,
    kSlot_COMClassicVTableDestroyed = 69,
    kSlot_ExceptionCLRCatcherFound = 70,
    kSlot_ExceptionCLRCatcherExecute = 71,

    // ICorProfilerCallback2
    kSlot_ThreadNameChanged = 72,
    kSlot_GarbageCollectionStarted = 73,
    kSlot_SurvivingReferences = 74,
    kSlot_GarbageCollectionFinished = 75,
    kSlot_FinalizeableObjectQueued = 76,
    kSlot_RootReferences2 = 77,
    kSlot_HandleCreated = 78,
    kSlot_HandleDestroyed = 79,

    // ICorProfilerCallback3
    kSlot_InitializeForAttach = 80,
    kSlot_ProfilerAttachComplete = 81,
    kSlot_ProfilerDetachSucceeded = 82,

    // ICorProfilerCallback4
    kSlot_ReJITCompilationStarted = 83,
    kSlot_GetReJITParameters = 84,
    kSlot_ReJITCompilationFinished = 85,
    kSlot_ReJITError = 86,
    kSlot_MovedReferences2 = 87,
    kSlot_SurvivingReferences2 = 88,

    // ICorProfilerCallback5
    kSlot_ConditionalWeakTableElementReferences = 89,

    // ICorProfilerCallback6
    kSlot_GetAssemblyReferences = 90,

    // ICorProfilerCallback7
    kSlot_ModuleInMemorySymbolsUpdated = 91,

    // ICorProfilerCallback8
    kSlot_DynamicMethodJITCompilationStarted = 92,
    kSlot_DynamicMethodJITCompilationFinished = 93,

    // ICorProfilerCallback9
    kSlot_DynamicMethodUnloaded = 94,

    // ICorProfilerCallback10
    kSlot_EventPipeEventDelivered = 95,
    kSlot_EventPipeProviderCreated = 96,

    // ICorProfilerCallback11
    kSlot_LoadAsNotificationOnly = 97,

    // Total slots of an ICorProfilerCallback11 vtable.
    kCallbackSlotCount = 98,
};

inline constexpr int kCallbackSlotCountThroughCallback = kSlot_ExceptionCLRCatcherExecute + 1;
inline constexpr int kCallbackSlotCountThroughCallback2 = kSlot_HandleDestroyed + 1;
inline constexpr int kCallbackSlotCountThroughCallback3 = kSlot_ProfilerDetachSucceeded + 1;
inline constexpr int kCallbackSlotCountThroughCallback4 = kSlot_SurvivingReferences2 + 1;
inline constexpr int kCallbackSlotCountThroughCallback5 = kSlot_ConditionalWeakTableElementReferences + 1;
inline constexpr int kCallbackSlotCountThroughCallback6 = kSlot_GetAssemblyReferences + 1;
inline constexpr int kCallbackSlotCountThroughCallback7 = kSlot_ModuleInMemorySymbolsUpdated + 1;
inline constexpr int kCallbackSlotCountThroughCallback8 = kSlot_DynamicMethodJITCompilationFinished + 1;
inline constexpr int kCallbackSlotCountThroughCallback9 = kSlot_DynamicMethodUnloaded + 1;
inline constexpr int kCallbackSlotCountThroughCallback10 = kSlot_EventPipeProviderCreated + 1;
inline constexpr int kCallbackSlotCountThroughCallback11 = kSlot_LoadAsNotificationOnly + 1;
static_assert(kCallbackSlotCountThroughCallback11 == kCallbackSlotCount,
              "callback slot enum must end with ICorProfilerCallback11");

struct IUnknown;

// Signatures of the callback slots the memory profiler implements. Every other
// slot can share one `HRESULT stub(void* self)` returning S_OK: under SysV the
// caller owns its arguments, so a callee that ignores them is safe.
using CallbackFn_QueryInterface = HRESULT (*)(void* self, REFIID riid, void** ppv);
using CallbackFn_AddRef = ULONG (*)(void* self);
using CallbackFn_Release = ULONG (*)(void* self);

using CallbackFn_Initialize = HRESULT (*)(void* self, IUnknown* pICorProfilerInfoUnk);
using CallbackFn_Shutdown = HRESULT (*)(void* self);
using CallbackFn_InitializeForAttach = HRESULT (*)(void* self, IUnknown* pCorProfilerInfoUnk,
                                                   void* pvClientData, UINT cbClientData);
using CallbackFn_ProfilerAttachComplete = HRESULT (*)(void* self);
using CallbackFn_ProfilerDetachSucceeded = HRESULT (*)(void* self);

using CallbackFn_ModuleLoadFinished = HRESULT (*)(void* self, ModuleID moduleId, HRESULT hrStatus);
using CallbackFn_ModuleUnloadStarted = HRESULT (*)(void* self, ModuleID moduleId);
using CallbackFn_ClassLoadFinished = HRESULT (*)(void* self, ClassID classId, HRESULT hrStatus);
using CallbackFn_ClassUnloadStarted = HRESULT (*)(void* self, ClassID classId);
using CallbackFn_JITCompilationFinished = HRESULT (*)(void* self, FunctionID functionId,
                                                      HRESULT hrStatus, BOOL fIsSafeToBlock);
using CallbackFn_JITInlining = HRESULT (*)(void* self, FunctionID callerId, FunctionID calleeId,
                                           BOOL* pfShouldInline);

using CallbackFn_ThreadCreated = HRESULT (*)(void* self, ThreadID threadId);
using CallbackFn_ThreadDestroyed = HRESULT (*)(void* self, ThreadID threadId);
using CallbackFn_ThreadAssignedToOSThread = HRESULT (*)(void* self, ThreadID managedThreadId,
                                                        DWORD osThreadId);
using CallbackFn_ThreadNameChanged = HRESULT (*)(void* self, ThreadID threadId, ULONG cchName,
                                                 WCHAR name[]);

using CallbackFn_RuntimeSuspendStarted = HRESULT (*)(void* self, COR_PRF_SUSPEND_REASON suspendReason);
using CallbackFn_RuntimeSuspendFinished = HRESULT (*)(void* self);
using CallbackFn_RuntimeSuspendAborted = HRESULT (*)(void* self);
using CallbackFn_RuntimeResumeStarted = HRESULT (*)(void* self);
using CallbackFn_RuntimeResumeFinished = HRESULT (*)(void* self);

using CallbackFn_ObjectAllocated = HRESULT (*)(void* self, ObjectID objectId, ClassID classId);
using CallbackFn_ObjectsAllocatedByClass = HRESULT (*)(void* self, ULONG cClassCount,
                                                       ClassID classIds[], ULONG cObjects[]);
using CallbackFn_GarbageCollectionStarted = HRESULT (*)(void* self, int cGenerations,
                                                        BOOL generationCollected[],
                                                        COR_PRF_GC_REASON reason);
using CallbackFn_GarbageCollectionFinished = HRESULT (*)(void* self);
using CallbackFn_FinalizeableObjectQueued = HRESULT (*)(void* self, DWORD finalizerFlags,
                                                        ObjectID objectId);
using CallbackFn_RootReferences2 = HRESULT (*)(void* self, ULONG cRootRefs, ObjectID rootRefIds[],
                                               COR_PRF_GC_ROOT_KIND rootKinds[],
                                               COR_PRF_GC_ROOT_FLAGS rootFlags[], UINT_PTR rootIds[]);
using CallbackFn_HandleCreated = HRESULT (*)(void* self, GCHandleID handleId, ObjectID initialObjectId);
using CallbackFn_HandleDestroyed = HRESULT (*)(void* self, GCHandleID handleId);

// Obsolete ULONG-length variants (lengths of objects >4 GB are clamped).
using CallbackFn_MovedReferences = HRESULT (*)(void* self, ULONG cMovedObjectIDRanges,
                                               ObjectID oldObjectIDRangeStart[],
                                               ObjectID newObjectIDRangeStart[],
                                               ULONG cObjectIDRangeLength[]);
using CallbackFn_SurvivingReferences = HRESULT (*)(void* self, ULONG cSurvivingObjectIDRanges,
                                                   ObjectID objectIDRangeStart[],
                                                   ULONG cObjectIDRangeLength[]);
// SIZE_T-length variants (ICorProfilerCallback4); delivered before the old ones.
using CallbackFn_MovedReferences2 = HRESULT (*)(void* self, ULONG cMovedObjectIDRanges,
                                                ObjectID oldObjectIDRangeStart[],
                                                ObjectID newObjectIDRangeStart[],
                                                SIZE_T cObjectIDRangeLength[]);
using CallbackFn_SurvivingReferences2 = HRESULT (*)(void* self, ULONG cSurvivingObjectIDRanges,
                                                    ObjectID objectIDRangeStart[],
                                                    SIZE_T cObjectIDRangeLength[]);

using CallbackFn_LoadAsNotificationOnly = HRESULT (*)(void* self, BOOL* pbNotificationOnly);

// ===========================================================================
// 6. Interfaces the profiler calls: IUnknown, ICorProfilerInfo..15, enumerators
// ===========================================================================
//
// Declared as abstract C++ classes so that calls go through the runtime's
// vtable. Itanium C++ ABI lays out the vtable of a single-inheritance chain of
// pure virtuals exactly like a COM vtable: base slots first, in declaration
// order.

struct IUnknown {
    virtual HRESULT QueryInterface(REFIID riid, void** ppvObject) = 0;
    virtual ULONG AddRef() = 0;
    virtual ULONG Release() = 0;
};

struct IMethodMalloc;
struct ICorProfilerFunctionControl;

struct ICorProfilerObjectEnum : IUnknown {
    virtual HRESULT Skip(ULONG celt) = 0;
    virtual HRESULT Reset() = 0;
    virtual HRESULT Clone(ICorProfilerObjectEnum** ppEnum) = 0;
    virtual HRESULT GetCount(ULONG* pcelt) = 0;
    virtual HRESULT Next(ULONG celt, ObjectID objects[], ULONG* pceltFetched) = 0;
};

struct ICorProfilerFunctionEnum : IUnknown {
    virtual HRESULT Skip(ULONG celt) = 0;
    virtual HRESULT Reset() = 0;
    virtual HRESULT Clone(ICorProfilerFunctionEnum** ppEnum) = 0;
    virtual HRESULT GetCount(ULONG* pcelt) = 0;
    virtual HRESULT Next(ULONG celt, COR_PRF_FUNCTION ids[], ULONG* pceltFetched) = 0;
};

struct ICorProfilerModuleEnum : IUnknown {
    virtual HRESULT Skip(ULONG celt) = 0;
    virtual HRESULT Reset() = 0;
    virtual HRESULT Clone(ICorProfilerModuleEnum** ppEnum) = 0;
    virtual HRESULT GetCount(ULONG* pcelt) = 0;
    virtual HRESULT Next(ULONG celt, ModuleID ids[], ULONG* pceltFetched) = 0;
};

struct ICorProfilerThreadEnum : IUnknown {
    virtual HRESULT Skip(ULONG celt) = 0;
    virtual HRESULT Reset() = 0;
    virtual HRESULT Clone(ICorProfilerThreadEnum** ppEnum) = 0;
    virtual HRESULT GetCount(ULONG* pcelt) = 0;
    virtual HRESULT Next(ULONG celt, ThreadID ids[], ULONG* pceltFetched) = 0;
};

struct ICorProfilerMethodEnum : IUnknown {
    virtual HRESULT Skip(ULONG celt) = 0;
    virtual HRESULT Reset() = 0;
    virtual HRESULT Clone(ICorProfilerMethodEnum** ppEnum) = 0;
    virtual HRESULT GetCount(ULONG* pcelt) = 0;
    virtual HRESULT Next(ULONG celt, COR_PRF_METHOD elements[], ULONG* pceltFetched) = 0;
};

struct ICorProfilerInfo : IUnknown {
    virtual HRESULT GetClassFromObject(ObjectID objectId, ClassID* pClassId) = 0;
    virtual HRESULT GetClassFromToken(ModuleID moduleId, mdTypeDef typeDef, ClassID* pClassId) = 0;
    virtual HRESULT GetCodeInfo(FunctionID functionId, LPCBYTE* pStart, ULONG* pcSize) = 0;
    virtual HRESULT GetEventMask(DWORD* pdwEvents) = 0;
    virtual HRESULT GetFunctionFromIP(LPCBYTE ip, FunctionID* pFunctionId) = 0;
    virtual HRESULT GetFunctionFromToken(ModuleID moduleId, mdToken token, FunctionID* pFunctionId) = 0;
    virtual HRESULT GetHandleFromThread(ThreadID threadId, HANDLE* phThread) = 0;
    virtual HRESULT GetObjectSize(ObjectID objectId, ULONG* pcSize) = 0;
    virtual HRESULT IsArrayClass(ClassID classId, CorElementType* pBaseElemType, ClassID* pBaseClassId,
                                 ULONG* pcRank) = 0;
    virtual HRESULT GetThreadInfo(ThreadID threadId, DWORD* pdwWin32ThreadId) = 0;
    virtual HRESULT GetCurrentThreadID(ThreadID* pThreadId) = 0;
    virtual HRESULT GetClassIDInfo(ClassID classId, ModuleID* pModuleId, mdTypeDef* pTypeDefToken) = 0;
    virtual HRESULT GetFunctionInfo(FunctionID functionId, ClassID* pClassId, ModuleID* pModuleId,
                                    mdToken* pToken) = 0;
    virtual HRESULT SetEventMask(DWORD dwEvents) = 0;
    virtual HRESULT SetEnterLeaveFunctionHooks(FunctionEnter* pFuncEnter, FunctionLeave* pFuncLeave,
                                               FunctionTailcall* pFuncTailcall) = 0;
    virtual HRESULT SetFunctionIDMapper(FunctionIDMapper* pFunc) = 0;
    virtual HRESULT GetTokenAndMetaDataFromFunction(FunctionID functionId, REFIID riid, IUnknown** ppImport,
                                                    mdToken* pToken) = 0;
    virtual HRESULT GetModuleInfo(ModuleID moduleId, LPCBYTE* ppBaseLoadAddress, ULONG cchName,
                                  ULONG* pcchName, WCHAR szName[], AssemblyID* pAssemblyId) = 0;
    virtual HRESULT GetModuleMetaData(ModuleID moduleId, DWORD dwOpenFlags, REFIID riid, IUnknown** ppOut) = 0;
    virtual HRESULT GetILFunctionBody(ModuleID moduleId, mdMethodDef methodId, LPCBYTE* ppMethodHeader,
                                      ULONG* pcbMethodSize) = 0;
    virtual HRESULT GetILFunctionBodyAllocator(ModuleID moduleId, IMethodMalloc** ppMalloc) = 0;
    virtual HRESULT SetILFunctionBody(ModuleID moduleId, mdMethodDef methodId,
                                      LPCBYTE pbNewILMethodHeader) = 0;
    virtual HRESULT GetAppDomainInfo(AppDomainID appDomainId, ULONG cchName, ULONG* pcchName,
                                     WCHAR szName[], ProcessID* pProcessId) = 0;
    virtual HRESULT GetAssemblyInfo(AssemblyID assemblyId, ULONG cchName, ULONG* pcchName, WCHAR szName[],
                                    AppDomainID* pAppDomainId, ModuleID* pModuleId) = 0;
    virtual HRESULT unused_SetFunctionReJIT_() = 0;
    virtual HRESULT ForceGC() = 0;
    virtual HRESULT SetILInstrumentedCodeMap(FunctionID functionId, BOOL fStartJit, ULONG cILMapEntries,
                                             COR_IL_MAP rgILMapEntries[]) = 0;
    virtual HRESULT unused_GetInprocInspectionInterface_() = 0;
    virtual HRESULT unused_GetInprocInspectionIThisThread_() = 0;
    virtual HRESULT GetThreadContext(ThreadID threadId, ContextID* pContextId) = 0;
    virtual HRESULT unused_BeginInprocDebugging_() = 0;
    virtual HRESULT unused_EndInprocDebugging_() = 0;
    virtual HRESULT GetILToNativeMapping(FunctionID functionId, ULONG32 cMap, ULONG32* pcMap,
                                         COR_DEBUG_IL_TO_NATIVE_MAP map[]) = 0;
};

struct ICorProfilerInfo2 : ICorProfilerInfo {
    virtual HRESULT DoStackSnapshot(ThreadID thread, StackSnapshotCallback* callback, ULONG32 infoFlags,
                                    void* clientData, BYTE context[], ULONG32 contextSize) = 0;
    virtual HRESULT SetEnterLeaveFunctionHooks2(FunctionEnter2* pFuncEnter, FunctionLeave2* pFuncLeave,
                                                FunctionTailcall2* pFuncTailcall) = 0;
    virtual HRESULT GetFunctionInfo2(FunctionID funcId, COR_PRF_FRAME_INFO frameInfo, ClassID* pClassId,
                                     ModuleID* pModuleId, mdToken* pToken, ULONG32 cTypeArgs,
                                     ULONG32* pcTypeArgs, ClassID typeArgs[]) = 0;
    virtual HRESULT GetStringLayout(ULONG* pBufferLengthOffset, ULONG* pStringLengthOffset,
                                    ULONG* pBufferOffset) = 0;
    virtual HRESULT GetClassLayout(ClassID classId, COR_FIELD_OFFSET rFieldOffset[], ULONG cFieldOffset,
                                   ULONG* pcFieldOffset, ULONG* pulClassSize) = 0;
    virtual HRESULT GetClassIDInfo2(ClassID classId, ModuleID* pModuleId, mdTypeDef* pTypeDefToken,
                                    ClassID* pParentClassId, ULONG32 cNumTypeArgs, ULONG32* pcNumTypeArgs,
                                    ClassID typeArgs[]) = 0;
    virtual HRESULT GetCodeInfo2(FunctionID functionId, ULONG32 cCodeInfos, ULONG32* pcCodeInfos,
                                 COR_PRF_CODE_INFO codeInfos[]) = 0;
    virtual HRESULT GetClassFromTokenAndTypeArgs(ModuleID moduleId, mdTypeDef typeDef, ULONG32 cTypeArgs,
                                                 ClassID typeArgs[], ClassID* pClassId) = 0;
    virtual HRESULT GetFunctionFromTokenAndTypeArgs(ModuleID moduleId, mdMethodDef funcDef, ClassID classId,
                                                    ULONG32 cTypeArgs, ClassID typeArgs[],
                                                    FunctionID* pFunctionId) = 0;
    virtual HRESULT EnumModuleFrozenObjects(ModuleID moduleId, ICorProfilerObjectEnum** ppEnum) = 0;
    virtual HRESULT GetArrayObjectInfo(ObjectID objectId, ULONG32 cDimensions, ULONG32 pDimensionSizes[],
                                       int pDimensionLowerBounds[], BYTE** ppData) = 0;
    virtual HRESULT GetBoxClassLayout(ClassID classId, ULONG32* pBufferOffset) = 0;
    virtual HRESULT GetThreadAppDomain(ThreadID threadId, AppDomainID* pAppDomainId) = 0;
    virtual HRESULT GetRVAStaticAddress(ClassID classId, mdFieldDef fieldToken, void** ppAddress) = 0;
    virtual HRESULT GetAppDomainStaticAddress(ClassID classId, mdFieldDef fieldToken, AppDomainID appDomainId,
                                              void** ppAddress) = 0;
    virtual HRESULT GetThreadStaticAddress(ClassID classId, mdFieldDef fieldToken, ThreadID threadId,
                                           void** ppAddress) = 0;
    virtual HRESULT GetContextStaticAddress(ClassID classId, mdFieldDef fieldToken, ContextID contextId,
                                            void** ppAddress) = 0;
    virtual HRESULT GetStaticFieldInfo(ClassID classId, mdFieldDef fieldToken,
                                       COR_PRF_STATIC_TYPE* pFieldInfo) = 0;
    virtual HRESULT GetGenerationBounds(ULONG cObjectRanges, ULONG* pcObjectRanges,
                                        COR_PRF_GC_GENERATION_RANGE ranges[]) = 0;
    virtual HRESULT GetObjectGeneration(ObjectID objectId, COR_PRF_GC_GENERATION_RANGE* range) = 0;
    virtual HRESULT GetNotifiedExceptionClauseInfo(COR_PRF_EX_CLAUSE_INFO* pinfo) = 0;
};

struct ICorProfilerInfo3 : ICorProfilerInfo2 {
    virtual HRESULT EnumJITedFunctions(ICorProfilerFunctionEnum** ppEnum) = 0;
    virtual HRESULT RequestProfilerDetach(DWORD dwExpectedCompletionMilliseconds) = 0;
    virtual HRESULT SetFunctionIDMapper2(FunctionIDMapper2* pFunc, void* clientData) = 0;
    virtual HRESULT GetStringLayout2(ULONG* pStringLengthOffset, ULONG* pBufferOffset) = 0;
    virtual HRESULT SetEnterLeaveFunctionHooks3(FunctionEnter3* pFuncEnter3, FunctionLeave3* pFuncLeave3,
                                                FunctionTailcall3* pFuncTailcall3) = 0;
    virtual HRESULT SetEnterLeaveFunctionHooks3WithInfo(FunctionEnter3WithInfo* pFuncEnter3WithInfo,
                                                        FunctionLeave3WithInfo* pFuncLeave3WithInfo,
                                                        FunctionTailcall3WithInfo* pFuncTailcall3WithInfo) = 0;
    virtual HRESULT GetFunctionEnter3Info(FunctionID functionId, COR_PRF_ELT_INFO eltInfo,
                                          COR_PRF_FRAME_INFO* pFrameInfo, ULONG* pcbArgumentInfo,
                                          COR_PRF_FUNCTION_ARGUMENT_INFO* pArgumentInfo) = 0;
    virtual HRESULT GetFunctionLeave3Info(FunctionID functionId, COR_PRF_ELT_INFO eltInfo,
                                          COR_PRF_FRAME_INFO* pFrameInfo,
                                          COR_PRF_FUNCTION_ARGUMENT_RANGE* pRetvalRange) = 0;
    virtual HRESULT GetFunctionTailcall3Info(FunctionID functionId, COR_PRF_ELT_INFO eltInfo,
                                             COR_PRF_FRAME_INFO* pFrameInfo) = 0;
    virtual HRESULT EnumModules(ICorProfilerModuleEnum** ppEnum) = 0;
    virtual HRESULT GetRuntimeInformation(USHORT* pClrInstanceId, COR_PRF_RUNTIME_TYPE* pRuntimeType,
                                          USHORT* pMajorVersion, USHORT* pMinorVersion, USHORT* pBuildNumber,
                                          USHORT* pQFEVersion, ULONG cchVersionString,
                                          ULONG* pcchVersionString, WCHAR szVersionString[]) = 0;
    virtual HRESULT GetThreadStaticAddress2(ClassID classId, mdFieldDef fieldToken, AppDomainID appDomainId,
                                            ThreadID threadId, void** ppAddress) = 0;
    virtual HRESULT GetAppDomainsContainingModule(ModuleID moduleId, ULONG32 cAppDomainIds,
                                                  ULONG32* pcAppDomainIds, AppDomainID appDomainIds[]) = 0;
    virtual HRESULT GetModuleInfo2(ModuleID moduleId, LPCBYTE* ppBaseLoadAddress, ULONG cchName,
                                   ULONG* pcchName, WCHAR szName[], AssemblyID* pAssemblyId,
                                   DWORD* pdwModuleFlags) = 0;
};

struct ICorProfilerInfo4 : ICorProfilerInfo3 {
    virtual HRESULT EnumThreads(ICorProfilerThreadEnum** ppEnum) = 0;
    virtual HRESULT InitializeCurrentThread() = 0;
    virtual HRESULT RequestReJIT(ULONG cFunctions, ModuleID moduleIds[], mdMethodDef methodIds[]) = 0;
    virtual HRESULT RequestRevert(ULONG cFunctions, ModuleID moduleIds[], mdMethodDef methodIds[],
                                  HRESULT status[]) = 0;
    virtual HRESULT GetCodeInfo3(FunctionID functionId, ReJITID reJitId, ULONG32 cCodeInfos,
                                 ULONG32* pcCodeInfos, COR_PRF_CODE_INFO codeInfos[]) = 0;
    virtual HRESULT GetFunctionFromIP2(LPCBYTE ip, FunctionID* pFunctionId, ReJITID* pReJitId) = 0;
    virtual HRESULT GetReJITIDs(FunctionID functionId, ULONG cReJitIds, ULONG* pcReJitIds,
                                ReJITID reJitIds[]) = 0;
    virtual HRESULT GetILToNativeMapping2(FunctionID functionId, ReJITID reJitId, ULONG32 cMap,
                                          ULONG32* pcMap, COR_DEBUG_IL_TO_NATIVE_MAP map[]) = 0;
    virtual HRESULT EnumJITedFunctions2(ICorProfilerFunctionEnum** ppEnum) = 0;
    virtual HRESULT GetObjectSize2(ObjectID objectId, SIZE_T* pcSize) = 0;
};

struct ICorProfilerInfo5 : ICorProfilerInfo4 {
    virtual HRESULT GetEventMask2(DWORD* pdwEventsLow, DWORD* pdwEventsHigh) = 0;
    virtual HRESULT SetEventMask2(DWORD dwEventsLow, DWORD dwEventsHigh) = 0;
};

struct ICorProfilerInfo6 : ICorProfilerInfo5 {
    virtual HRESULT EnumNgenModuleMethodsInliningThisMethod(ModuleID inlinersModuleId, ModuleID inlineeModuleId,
                                                            mdMethodDef inlineeMethodId, BOOL* incompleteData,
                                                            ICorProfilerMethodEnum** ppEnum) = 0;
};

struct ICorProfilerInfo7 : ICorProfilerInfo6 {
    virtual HRESULT ApplyMetaData(ModuleID moduleId) = 0;
    virtual HRESULT GetInMemorySymbolsLength(ModuleID moduleId, DWORD* pCountSymbolBytes) = 0;
    virtual HRESULT ReadInMemorySymbols(ModuleID moduleId, DWORD symbolsReadOffset, BYTE* pSymbolBytes,
                                        DWORD countSymbolBytes, DWORD* pCountSymbolBytesRead) = 0;
};

struct ICorProfilerInfo8 : ICorProfilerInfo7 {
    virtual HRESULT IsFunctionDynamic(FunctionID functionId, BOOL* isDynamic) = 0;
    virtual HRESULT GetFunctionFromIP3(LPCBYTE ip, FunctionID* functionId, ReJITID* pReJitId) = 0;
    virtual HRESULT GetDynamicFunctionInfo(FunctionID functionId, ModuleID* moduleId, PCCOR_SIGNATURE* ppvSig,
                                           ULONG* pbSig, ULONG cchName, ULONG* pcchName, WCHAR wszName[]) = 0;
};

struct ICorProfilerInfo9 : ICorProfilerInfo8 {
    virtual HRESULT GetNativeCodeStartAddresses(FunctionID functionId, ReJITID reJitId,
                                                ULONG32 cCodeStartAddresses, ULONG32* pcCodeStartAddresses,
                                                UINT_PTR codeStartAddresses[]) = 0;
    virtual HRESULT GetILToNativeMapping3(UINT_PTR pNativeCodeStartAddress, ULONG32 cMap, ULONG32* pcMap,
                                          COR_DEBUG_IL_TO_NATIVE_MAP map[]) = 0;
    virtual HRESULT GetCodeInfo4(UINT_PTR pNativeCodeStartAddress, ULONG32 cCodeInfos, ULONG32* pcCodeInfos,
                                 COR_PRF_CODE_INFO codeInfos[]) = 0;
};

struct ICorProfilerInfo10 : ICorProfilerInfo9 {
    virtual HRESULT EnumerateObjectReferences(ObjectID objectId, ObjectReferenceCallback* callback,
                                              void* clientData) = 0;
    virtual HRESULT IsFrozenObject(ObjectID objectId, BOOL* pbFrozen) = 0;
    virtual HRESULT GetLOHObjectSizeThreshold(DWORD* pThreshold) = 0;
    virtual HRESULT RequestReJITWithInliners(DWORD dwRejitFlags, ULONG cFunctions, ModuleID moduleIds[],
                                             mdMethodDef methodIds[]) = 0;
    virtual HRESULT SuspendRuntime() = 0;
    virtual HRESULT ResumeRuntime() = 0;
};

struct ICorProfilerInfo11 : ICorProfilerInfo10 {
    virtual HRESULT GetEnvironmentVariable(const WCHAR* szName, ULONG cchValue, ULONG* pcchValue,
                                           WCHAR szValue[]) = 0;
    virtual HRESULT SetEnvironmentVariable(const WCHAR* szName, const WCHAR* szValue) = 0;
};

struct ICorProfilerInfo12 : ICorProfilerInfo11 {
    virtual HRESULT EventPipeStartSession(UINT32 cProviderConfigs,
                                          COR_PRF_EVENTPIPE_PROVIDER_CONFIG pProviderConfigs[],
                                          BOOL requestRundown, EVENTPIPE_SESSION* pSession) = 0;
    virtual HRESULT EventPipeAddProviderToSession(EVENTPIPE_SESSION session,
                                                  COR_PRF_EVENTPIPE_PROVIDER_CONFIG providerConfig) = 0;
    virtual HRESULT EventPipeStopSession(EVENTPIPE_SESSION session) = 0;
    virtual HRESULT EventPipeCreateProvider(const WCHAR* providerName, EVENTPIPE_PROVIDER* pProvider) = 0;
    virtual HRESULT EventPipeGetProviderInfo(EVENTPIPE_PROVIDER provider, ULONG cchName, ULONG* pcchName,
                                             WCHAR providerName[]) = 0;
    virtual HRESULT EventPipeDefineEvent(EVENTPIPE_PROVIDER provider, const WCHAR* eventName, UINT32 eventId,
                                         UINT64 keywords, UINT32 eventVersion, UINT32 level, UINT8 opcode,
                                         BOOL needStack, UINT32 cParamDescs,
                                         COR_PRF_EVENTPIPE_PARAM_DESC pParamDescs[],
                                         EVENTPIPE_EVENT* pEvent) = 0;
    virtual HRESULT EventPipeWriteEvent(EVENTPIPE_EVENT event, UINT32 cData, COR_PRF_EVENT_DATA data[],
                                        LPCGUID pActivityId, LPCGUID pRelatedActivityId) = 0;
};

struct ICorProfilerInfo13 : ICorProfilerInfo12 {
    virtual HRESULT CreateHandle(ObjectID object, COR_PRF_HANDLE_TYPE type, ObjectHandleID* pHandle) = 0;
    virtual HRESULT DestroyHandle(ObjectHandleID handle) = 0;
    virtual HRESULT GetObjectIDFromHandle(ObjectHandleID handle, ObjectID* pObject) = 0;
};

struct ICorProfilerInfo14 : ICorProfilerInfo13 {
    virtual HRESULT EnumerateNonGCObjects(ICorProfilerObjectEnum** ppEnum) = 0;
    virtual HRESULT GetNonGCHeapBounds(ULONG cObjectRanges, ULONG* pcObjectRanges,
                                       COR_PRF_NONGC_HEAP_RANGE ranges[]) = 0;
    virtual HRESULT EventPipeCreateProvider2(const WCHAR* providerName, EventPipeProviderCallback* pCallback,
                                             EVENTPIPE_PROVIDER* pProvider) = 0;
};

struct ICorProfilerInfo15 : ICorProfilerInfo14 {
    virtual HRESULT EnumerateGCHeapObjects(ObjectCallback callback, void* callbackState) = 0;
};

// Number of vtable slots (IUnknown's three included) of each Info interface.
inline constexpr int kInfoMethodCountThroughInfo = 36;
inline constexpr int kInfoMethodCountThroughInfo2 = 57;
inline constexpr int kInfoMethodCountThroughInfo3 = 71;
inline constexpr int kInfoMethodCountThroughInfo4 = 81;
inline constexpr int kInfoMethodCountThroughInfo5 = 83;
inline constexpr int kInfoMethodCountThroughInfo6 = 84;
inline constexpr int kInfoMethodCountThroughInfo7 = 87;
inline constexpr int kInfoMethodCountThroughInfo8 = 90;
inline constexpr int kInfoMethodCountThroughInfo9 = 93;
inline constexpr int kInfoMethodCountThroughInfo10 = 99;
inline constexpr int kInfoMethodCountThroughInfo11 = 101;
inline constexpr int kInfoMethodCountThroughInfo12 = 108;
inline constexpr int kInfoMethodCountThroughInfo13 = 111;
inline constexpr int kInfoMethodCountThroughInfo14 = 114;
inline constexpr int kInfoMethodCountThroughInfo15 = 115;

// ===========================================================================
// 7. IMetaDataImport (obtained through GetModuleMetaData(..., ofRead, ...))
// ===========================================================================
//
// Full slot list in published order; methods the profiler has no use for are
// placeholders. Note two non-HRESULT returns: CloseEnum (void) and
// IsValidToken (BOOL).

struct IMetaDataImport : IUnknown {
    virtual void CloseEnum(HCORENUM hEnum) = 0;
    virtual HRESULT CountEnum(HCORENUM hEnum, ULONG* pulCount) = 0;
    virtual HRESULT ResetEnum(HCORENUM hEnum, ULONG ulPos) = 0;
    virtual HRESULT EnumTypeDefs(HCORENUM* phEnum, mdTypeDef rTypeDefs[], ULONG cMax, ULONG* pcTypeDefs) = 0;
    virtual HRESULT unused_EnumInterfaceImpls_() = 0;
    virtual HRESULT EnumTypeRefs(HCORENUM* phEnum, mdTypeRef rTypeRefs[], ULONG cMax, ULONG* pcTypeRefs) = 0;
    virtual HRESULT FindTypeDefByName(LPCWSTR szTypeDef, mdToken tkEnclosingClass, mdTypeDef* ptd) = 0;
    virtual HRESULT GetScopeProps(WCHAR* szName, ULONG cchName, ULONG* pchName, GUID* pmvid) = 0;
    virtual HRESULT GetModuleFromScope(mdModule* pmd) = 0;
    virtual HRESULT GetTypeDefProps(mdTypeDef td, WCHAR* szTypeDef, ULONG cchTypeDef, ULONG* pchTypeDef,
                                    DWORD* pdwTypeDefFlags, mdToken* ptkExtends) = 0;
    virtual HRESULT unused_GetInterfaceImplProps_() = 0;
    virtual HRESULT GetTypeRefProps(mdTypeRef tr, mdToken* ptkResolutionScope, WCHAR* szName, ULONG cchName,
                                    ULONG* pchName) = 0;
    virtual HRESULT ResolveTypeRef(mdTypeRef tr, REFIID riid, IUnknown** ppIScope, mdTypeDef* ptd) = 0;
    virtual HRESULT unused_EnumMembers_() = 0;
    virtual HRESULT unused_EnumMembersWithName_() = 0;
    virtual HRESULT EnumMethods(HCORENUM* phEnum, mdTypeDef cl, mdMethodDef rMethods[], ULONG cMax,
                                ULONG* pcTokens) = 0;
    virtual HRESULT unused_EnumMethodsWithName_() = 0;
    virtual HRESULT EnumFields(HCORENUM* phEnum, mdTypeDef cl, mdFieldDef rFields[], ULONG cMax,
                               ULONG* pcTokens) = 0;
    virtual HRESULT unused_EnumFieldsWithName_() = 0;
    virtual HRESULT unused_EnumParams_() = 0;
    virtual HRESULT unused_EnumMemberRefs_() = 0;
    virtual HRESULT unused_EnumMethodImpls_() = 0;
    virtual HRESULT unused_EnumPermissionSets_() = 0;
    virtual HRESULT unused_FindMember_() = 0;
    virtual HRESULT unused_FindMethod_() = 0;
    virtual HRESULT unused_FindField_() = 0;
    virtual HRESULT unused_FindMemberRef_() = 0;
    virtual HRESULT GetMethodProps(mdMethodDef mb, mdTypeDef* pClass, WCHAR* szMethod, ULONG cchMethod,
                                   ULONG* pchMethod, DWORD* pdwAttr, const uint8_t** ppvSigBlob,
                                   ULONG* pcbSigBlob, ULONG* pulCodeRVA, DWORD* pdwImplFlags) = 0;
    virtual HRESULT GetMemberRefProps(mdMemberRef mr, mdToken* ptk, WCHAR* szMember, ULONG cchMember,
                                      ULONG* pchMember, const uint8_t** ppvSigBlob, ULONG* pbSig) = 0;
    virtual HRESULT unused_EnumProperties_() = 0;
    virtual HRESULT unused_EnumEvents_() = 0;
    virtual HRESULT unused_GetEventProps_() = 0;
    virtual HRESULT unused_EnumMethodSemantics_() = 0;
    virtual HRESULT unused_GetMethodSemantics_() = 0;
    virtual HRESULT GetClassLayout(mdTypeDef td, DWORD* pdwPackSize, COR_FIELD_OFFSET rFieldOffset[],
                                   ULONG cMax, ULONG* pcFieldOffset, ULONG* pulClassSize) = 0;
    virtual HRESULT unused_GetFieldMarshal_() = 0;
    virtual HRESULT unused_GetRVA_() = 0;
    virtual HRESULT unused_GetPermissionSetProps_() = 0;
    virtual HRESULT GetSigFromToken(mdSignature mdSig, const uint8_t** ppvSig, ULONG* pcbSig) = 0;
    virtual HRESULT GetModuleRefProps(mdModuleRef mur, WCHAR* szName, ULONG cchName, ULONG* pchName) = 0;
    virtual HRESULT unused_EnumModuleRefs_() = 0;
    virtual HRESULT GetTypeSpecFromToken(mdTypeSpec typespec, const uint8_t** ppvSig, ULONG* pcbSig) = 0;
    virtual HRESULT unused_GetNameFromToken_() = 0;
    virtual HRESULT unused_EnumUnresolvedMethods_() = 0;
    virtual HRESULT GetUserString(mdString stk, WCHAR* szString, ULONG cchString, ULONG* pchString) = 0;
    virtual HRESULT unused_GetPinvokeMap_() = 0;
    virtual HRESULT unused_EnumSignatures_() = 0;
    virtual HRESULT unused_EnumTypeSpecs_() = 0;
    virtual HRESULT unused_EnumUserStrings_() = 0;
    virtual HRESULT unused_GetParamForMethodIndex_() = 0;
    virtual HRESULT unused_EnumCustomAttributes_() = 0;
    virtual HRESULT unused_GetCustomAttributeProps_() = 0;
    virtual HRESULT unused_FindTypeRef_() = 0;
    virtual HRESULT unused_GetMemberProps_() = 0;
    virtual HRESULT GetFieldProps(mdFieldDef mb, mdTypeDef* pClass, WCHAR* szField, ULONG cchField,
                                  ULONG* pchField, DWORD* pdwAttr, const uint8_t** ppvSigBlob,
                                  ULONG* pcbSigBlob, DWORD* pdwCPlusTypeFlag, UVCP_CONSTANT* ppValue,
                                  ULONG* pcchValue) = 0;
    virtual HRESULT unused_GetPropertyProps_() = 0;
    virtual HRESULT unused_GetParamProps_() = 0;
    virtual HRESULT GetCustomAttributeByName(mdToken tkObj, LPCWSTR szName, const void** ppData,
                                             ULONG* pcbData) = 0;
    virtual BOOL IsValidToken(mdToken tk) = 0;
    virtual HRESULT GetNestedClassProps(mdTypeDef tdNestedClass, mdTypeDef* ptdEnclosingClass) = 0;
    virtual HRESULT unused_GetNativeCallConvFromSig_() = 0;
    virtual HRESULT unused_IsGlobal_() = 0;
};

// Vtable slots of IMetaDataImport, IUnknown's three included.
inline constexpr int kMetaDataImportSlotCount = 65;

#endif  // PROFILER_CLR_CORPROF_H_
