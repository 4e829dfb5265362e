namespace MemNotebook.Recorder.Format;

/// <summary>
/// The dictionaries of a capture (types, stack nodes, frames, threads, thread names), kept by the
/// reader as it goes. Their size is bounded by the distinct stacks and types, not by allocations.
/// </summary>
public sealed class CaptureTables
{
    internal readonly Dictionary<int, TypeRecord> TypesByIndex = new();
    internal readonly List<StackNodeRecord> StackNodeList = new();
    internal readonly Dictionary<ulong, FrameRecord> FramesByIp = new();
    internal readonly Dictionary<int, ThreadRecord> ThreadsByStream = new();
    internal readonly Dictionary<ulong, string> ThreadNamesByOsTid = new();
    internal readonly List<ModuleRecord> ModuleList = new();
    internal readonly List<ManagedModuleRecord> ManagedModuleList = new();
    internal readonly Dictionary<ulong, IlFrameRecord> IlFramesByIp = new();
    internal readonly HashSet<int> NativeStackSet = new();
    internal readonly Dictionary<ulong, IReadOnlyList<SourceFrame>> SourcesByIp = new();
    internal readonly Dictionary<ulong, string> NoLineByIp = new();

    /// <summary>Why a managed frame has no file and line (<see cref="Symbols.NoLine"/>), or null (it has one, or is not managed).</summary>
    public string? NoLineReason(ulong ip) => NoLineByIp.GetValueOrDefault(ip);

    /// <summary>
    /// Source frames of ips (native ones from DWARF, managed ones from the PDB), innermost first: one per inlined function
    /// the return address is in, then the ip's own function (Function null) with its file and line.
    /// </summary>
    public IReadOnlyDictionary<ulong, IReadOnlyList<SourceFrame>> Sources => SourcesByIp;

    /// <summary>The source frames of an ip (<see cref="Sources"/>); empty without line information.</summary>
    public IReadOnlyList<SourceFrame> Source(ulong ip) => SourcesByIp.TryGetValue(ip, out var s) ? s : [];


    /// <summary>Stack ids some native allocation has (they start at the C caller of malloc and the like).</summary>
    public IReadOnlySet<int> NativeStacks => NativeStackSet;

    /// <summary>MODULE records in file order (native captures); a path may appear again at a new base after a reload.</summary>
    public IReadOnlyList<ModuleRecord> Modules => ModuleList;

    /// <summary>MANAGED_MODULE records by index − 1 (indexes are dense from 1).</summary>
    public IReadOnlyList<ManagedModuleRecord> ManagedModules => ManagedModuleList;

    /// <summary>IL_FRAME records by ip: where in its method's IL a managed return address is.</summary>
    public IReadOnlyDictionary<ulong, IlFrameRecord> IlFrames => IlFramesByIp;

    public IReadOnlyDictionary<int, TypeRecord> Types => TypesByIndex;

    /// <summary>Stack nodes by id − 1 (ids are dense, starting at 1).</summary>
    public IReadOnlyList<StackNodeRecord> StackNodes => StackNodeList;

    public IReadOnlyDictionary<ulong, FrameRecord> Frames => FramesByIp;
    public IReadOnlyDictionary<int, ThreadRecord> Threads => ThreadsByStream;
    public IReadOnlyDictionary<ulong, string> ThreadNames => ThreadNamesByOsTid;

    public string? ThreadName(ulong osThreadId) => ThreadNamesByOsTid.GetValueOrDefault(osThreadId);

    public string TypeName(int typeIndex) =>
        TypesByIndex.TryGetValue(typeIndex, out var type) ? type.Name
        : typeIndex < 0 ? NativeTypeName(-typeIndex)
        : $"[type {typeIndex}]";

    /// <summary>The type column of a native allocation: its allocator in brackets, e.g. "[malloc]".</summary>
    public static string NativeTypeName(int allocator) => $"[{CaptureFormat.AllocatorName(allocator)}]";

    /// <summary>The instruction pointers of a stack, innermost first (empty for stack id 0).</summary>
    public IEnumerable<ulong> StackIps(int stackId)
    {
        // The reader has validated every stack an allocation refers to (defined, acyclic, ≤ 1024 deep).
        var depth = 0;
        for (var id = stackId; id != 0 && id <= StackNodeList.Count && depth <= CaptureFormat.MaxStackDepth; depth++)
        {
            var node = StackNodeList[id - 1];
            yield return node.Ip;
            id = node.ParentId;
        }
    }

    /// <summary>The frame of an ip, or an unknown frame when no FRAME record named it.</summary>
    public FrameRecord Frame(ulong ip) =>
        FramesByIp.TryGetValue(ip, out var frame) ? frame : new FrameRecord(ip, FrameKind.Unknown, "", "", 0);
}
