using System.Runtime.InteropServices;
using Apache.Arrow;
using MemNotebook.Recorder.Arrow;
using MemNotebook.Recorder.Stacks;

namespace MemNotebook.Recorder.Analysis;

/// <summary>
/// Typed views of the allocations, stacks, frames and types tables of a loaded capture, over the same
/// Arrow buffers its DataFrames wrap, plus the lookups the views need (function per stack, rows per
/// thread), built once on first use.
/// </summary>
public sealed class AllocationColumns
{
    private readonly RecordBatch allocations;
    private readonly RecordBatch stacks;
    private readonly RecordBatch frames;
    private readonly RecordBatch types;
    private readonly RecordBatch threads;
    private string[]? ownFunctionByStack;
    private InclusiveSets? inclusiveByStack;
    private List<string>? inclusiveNames;
    private Dictionary<int, int[]>? rowsByStream;
    private Dictionary<int, string>? typeNames;
    private StackFrameNames? stackNames;

    internal AllocationColumns(RecordBatch allocations, RecordBatch stacks, RecordBatch frames, RecordBatch types, RecordBatch threads)
    {
        this.allocations = allocations;
        this.stacks = stacks;
        this.frames = frames;
        this.types = types;
        this.threads = threads;
        Count = allocations.Length;
    }

    public int Count { get; }

    public ReadOnlySpan<long> TimestampNs => Int64("timestamp_ns");
    public ReadOnlySpan<int> ThreadStream => Int32("thread_stream");
    public ReadOnlySpan<long> Size => Int64("size");
    public ReadOnlySpan<int> TypeId => Int32("type_id");
    public ReadOnlySpan<int> StackId => Int32("stack_id");

    /// <summary>Free time in ns; −1 where the object was alive at the end (the column's null).</summary>
    public ReadOnlySpan<long> FreedAtNs => Int64("freed_at_ns");

    /// <summary>
    /// Whether a row is a sampled object (a sampled capture's SAMPLED_ALLOC without the exact bit), standing for
    /// <see cref="Format.CaptureFormat.SampledWeight"/> bytes; false for every allocation recorded exactly.
    /// </summary>
    public bool IsSampled(int row)
    {
        var data = allocations.Column("sampled").Data;
        var bit = data.Offset + row;
        return (data.Buffers[1].Span[bit >> 3] & (1 << (bit & 7))) != 0;
    }

    /// <summary>The bytes a row stands for: the sampling estimate for a sampled object, else its size.</summary>
    public double EstimatedBytes(int row) => Format.CaptureFormat.EstimatedBytes(Size[row], IsSampled(row));

    private ReadOnlySpan<long> Int64(string column) => Values<long>(allocations, column);
    private ReadOnlySpan<int> Int32(string column) => Values<int>(allocations, column);

    private static ReadOnlySpan<T> Values<T>(RecordBatch batch, string column) where T : struct
    {
        var data = batch.Column(column).Data;
        return MemoryMarshal.Cast<byte, T>(data.Buffers[1].Span).Slice(data.Offset, data.Length);
    }

    public string TypeName(int typeId)
    {
        if (typeNames is null)
        {
            var ids = Values<int>(types, "type_id");
            var names = (StringArray)types.Column("name");
            var map = new Dictionary<int, string>();
            for (var i = 0; i < ids.Length; i++)
                map[ids[i]] = names.GetString(i) ?? "";
            typeNames = map;
        }
        return typeNames.TryGetValue(typeId, out var name) ? name
            : typeId < 0 ? Format.CaptureTables.NativeTypeName(-typeId) : $"[type {typeId}]";
    }

    /// <summary>Frame names of a stack innermost first, as every stack shows them (<see cref="Stacks.StackFrames"/>; stats' top_stacks).</summary>
    public IReadOnlyList<string> FrameNames(int stackId) => (stackNames ??= new StackFrameNames(stacks, frames)).Names(stackId);

    /// <summary>The function an allocation with this stack is charged to (the stacks table's function column).</summary>
    public string OwnFunction(int stackId)
    {
        if (ownFunctionByStack is null)
        {
            var ids = Values<int>(stacks, "stack_id");
            var byStack = new string[ids.Length + 1];
            byStack[0] = FunctionAttribution.Unknown;
            switch (stacks.Column("function"))
            {
                // Each distinct name decoded once: rows of a node share their string.
                case DictionaryArray { Dictionary: StringArray dictionary, Indices: Int32Array indexes }:
                {
                    var distinct = new string[dictionary.Length];
                    for (var k = 0; k < distinct.Length; k++)
                        distinct[k] = dictionary.GetString(k) ?? FunctionAttribution.Unknown;
                    var index = indexes.Values;
                    for (var i = 0; i < ids.Length; i++)
                        byStack[ids[i]] = indexes.IsNull(i) ? FunctionAttribution.Unknown : distinct[index[i]];
                    break;
                }
                case var column:
                {
                    var names = (StringArray)column;
                    for (var i = 0; i < ids.Length; i++)
                        byStack[ids[i]] = names.GetString(i) ?? FunctionAttribution.Unknown;
                    break;
                }
            }
            ownFunctionByStack = byStack;
        }
        return (uint)stackId < (uint)ownFunctionByStack.Length ? ownFunctionByStack[stackId] : FunctionAttribution.Unknown;
    }

    /// <summary>
    /// The functions allocations are charged to, each once (<see cref="OwnFunction"/>'s names; index 0 "[unknown]"), and
    /// for each stack id the index of its function: grouping and filtering by function count into arrays, no lookups.
    /// A stack id outside the table is "[unknown]" as in <see cref="OwnFunction"/>.
    /// </summary>
    internal (int[] IndexByStack, string[] Names) OwnFunctionIndex
    {
        get
        {
            if (ownFunctionIndex is { } built)
                return built;
            OwnFunction(0);
            var ordinal = new Dictionary<string, int>(StringComparer.Ordinal) { [FunctionAttribution.Unknown] = 0 };
            var names = new List<string> { FunctionAttribution.Unknown };
            var byStack = new int[ownFunctionByStack!.Length];
            for (var s = 0; s < byStack.Length; s++)
            {
                var name = ownFunctionByStack[s] ?? FunctionAttribution.Unknown;
                if (!ordinal.TryGetValue(name, out var k))
                {
                    ordinal.Add(name, k = names.Count);
                    names.Add(name);
                }
                byStack[s] = k;
            }
            return (ownFunctionIndex = (byStack, names.ToArray())).Value;
        }
    }

    private (int[] IndexByStack, string[] Names)? ownFunctionIndex;

    /// <summary>
    /// The source file and line of the frame each stack's allocations are charged to (the innermost frame of the stack
    /// shown as its <see cref="OwnFunction"/>), by stack id; null and 0 where the frames table knows no file for it.
    /// Each file name is one string shared by its stacks.
    /// </summary>
    internal (string?[] FileByStack, int[] LineByStack) ChargedSources
    {
        get
        {
            if (chargedSources is { } built)
                return built;
            OwnFunction(0);
            var parents = StackParents(stacks);
            var ips = StackIps(stacks);
            var shown = ShownFunctions(frames);
            var frameIps = Values<ulong>(frames, "ip");
            var files = (StringArray)frames.Column("file");
            var lines = (Int32Array)frames.Column("line");
            var rowOfIp = new Dictionary<ulong, int>(frameIps.Length);
            for (var i = 0; i < frameIps.Length; i++)
                rowOfIp[frameIps[i]] = i;
            var shared = new Dictionary<string, string>(StringComparer.Ordinal);
            var fileByStack = new string?[ownFunctionByStack!.Length];
            var lineByStack = new int[fileByStack.Length];
            for (var stack = 1; stack < fileByStack.Length && stack < parents.Length; stack++)
            {
                var function = ownFunctionByStack[stack];
                if (function is null || function == FunctionAttribution.Unknown)
                    continue;
                // A parent chain is at most the table long (a cycle in a damaged table ends there).
                for (int s = stack, steps = 0; s > 0 && s < parents.Length && steps < parents.Length; s = parents[s], steps++)
                {
                    if (!rowOfIp.TryGetValue(ips[s], out var row) || shown[row] != function)
                        continue;
                    if (!files.IsNull(row))
                    {
                        var file = files.GetString(row)!;
                        if (!shared.TryGetValue(file, out var one))
                            shared.Add(file, one = file);
                        fileByStack[stack] = one;
                        lineByStack[stack] = lines.GetValue(row) ?? 0;
                    }
                    break;
                }
            }
            return (chargedSources = (fileByStack, lineByStack)).Value;
        }
    }

    private (string?[] FileByStack, int[] LineByStack)? chargedSources;

    /// <summary>
    /// Indexes into <see cref="InclusiveNames"/> of every distinct named managed function on the stack
    /// (allocation machinery left out), or of "[unknown]" when there is none.
    /// </summary>
    internal InclusiveSets.Enumerator InclusiveFunctions(int stackId)
    {
        BuildInclusive();
        return inclusiveByStack!.Value[stackId];
    }

    public IReadOnlyList<string> InclusiveNames
    {
        get
        {
            BuildInclusive();
            return inclusiveNames!;
        }
    }

    private void BuildInclusive()
    {
        if (inclusiveByStack is not null)
            return;
        (inclusiveByStack, inclusiveNames) = InclusiveTable(stacks, frames);
    }

    /// <summary>
    /// The distinct named managed functions (allocation machinery left out) on each stack, as indexes into the names
    /// (index 0 "[unknown]", for a stack without any); from the stacks and frames tables alone, so aggregated captures
    /// get the same attribution. Kept as a tree like the stacks themselves (a stack's set is its parent's plus its own
    /// function when new), 12 bytes per stack node: a list per stack took stacks × depth (60,000 stacks 1,000 deep
    /// were 240 MB from a few hundred KB of capture).
    /// </summary>
    internal static (InclusiveSets ByStack, List<string> Names) InclusiveTable(RecordBatch stacks, RecordBatch frames)
    {
        var frameIps = Values<ulong>(frames, "ip");
        var kinds = (StringArray)frames.Column("kind");
        var functions = ShownFunctions(frames);
        // The allocation machinery is known by its recorded names.
        var raw = (StringArray)frames.Column("raw_function");
        var functionOfIp = new Dictionary<ulong, string>();
        for (var i = 0; i < frameIps.Length; i++)
        {
            var name = functions[i];
            if (kinds.GetString(i) == "managed" && name.Length > 0 && !AllocationMachinery.IsMachinery(raw.GetString(i) ?? ""))
                functionOfIp[frameIps[i]] = name;
        }
        var ids = Values<int>(stacks, "stack_id");
        var parents = Values<int>(stacks, "parent_id");
        var ips = Values<ulong>(stacks, "ip");
        var n = ids.Length;
        var names = new List<string> { FunctionAttribution.Unknown };
        var indexOfName = new Dictionary<string, int> { [FunctionAttribution.Unknown] = 0 };
        var parentOf = new int[n + 1];
        var functionOf = new int[n + 1]; // the node's function, 0 for none
        for (var i = 0; i < n; i++)
        {
            if ((uint)ids[i] > (uint)n)
                continue;
            parentOf[ids[i]] = parents[i];
            if (!functionOfIp.TryGetValue(ips[i], out var name))
                continue;
            if (!indexOfName.TryGetValue(name, out var index))
            {
                index = names.Count;
                names.Add(name);
                indexOfName.Add(name, index);
            }
            functionOf[ids[i]] = index;
        }
        // first[id]: the nearest node from id to the root whose function is not on the stack above it (0: none);
        // next[id]: the same from id's parent. A stack's set: first[id], next[first[id]], … (innermost first).
        var first = new int[n + 1];
        var next = new int[n + 1];
        var state = new byte[n + 1]; // 0 not done, 1 on the walk being resolved, 2 done
        state[0] = 2;
        var walk = new List<int>();
        for (var id = 1; id <= n; id++)
        {
            if (state[id] == 2)
                continue;
            // Up to a resolved node, the root, an undefined parent or a cycle (only unused stacks can have one: the
            // reader checked every stack an allocation names), then down, each node from its parent.
            walk.Clear();
            var at = id;
            while (at > 0 && at <= n && state[at] == 0 && walk.Count <= Format.CaptureFormat.MaxStackDepth)
            {
                state[at] = 1;
                walk.Add(at);
                at = parentOf[at];
            }
            var above = at > 0 && at <= n && state[at] == 2 ? first[at] : 0;
            for (var k = walk.Count - 1; k >= 0; k--)
            {
                var node = walk[k];
                next[node] = above;
                var f = functionOf[node];
                if (f != 0 && !InclusiveSets.Contains(functionOf, next, above, f))
                    above = node;
                first[node] = above;
                state[node] = 2;
            }
        }
        return (new InclusiveSets(functionOf, first, next), names);
    }

    /// <summary>The row's stack's functions (<see cref="InclusiveTable"/>) without a list per stack.</summary>
    internal readonly struct InclusiveSets(int[] functionOf, int[] first, int[] next)
    {
        public int Length => first.Length;

        /// <summary>Whether the set that starts at node <paramref name="at"/> holds function <paramref name="f"/>.</summary>
        internal static bool Contains(int[] functionOf, int[] next, int at, int f)
        {
            for (var steps = 0; at != 0 && steps <= Format.CaptureFormat.MaxStackDepth; at = next[at], steps++)
                if (functionOf[at] == f)
                    return true;
            return false;
        }

        /// <summary>The function indexes of a stack (out of range: as stack 0), "[unknown]" (0) for a stack without any.</summary>
        public Enumerator this[int stackId] => new(functionOf, next, (uint)stackId < (uint)first.Length ? first[stackId] : 0);

        public struct Enumerator(int[] functionOf, int[] next, int start)
        {
            private int at = -1;
            private int steps;

            public readonly int Current => at == 0 ? 0 : functionOf[at];

            public bool MoveNext()
            {
                if (at == -1)
                {
                    at = start;
                    return true; // the first node, or 0 ("[unknown]") for a stack without a function
                }
                if (at == 0 || ++steps > Format.CaptureFormat.MaxStackDepth)
                    return false;
                at = next[at];
                return at != 0;
            }

            public readonly Enumerator GetEnumerator() => this;
        }
    }

    /// <summary>The rows of each thread stream in allocation order: row k of a stream has sequence number k.</summary>
    public IReadOnlyDictionary<int, int[]> RowsByStream
    {
        get
        {
            if (rowsByStream is not null)
                return rowsByStream;
            var streams = ThreadStream;
            var counts = new Dictionary<int, int>();
            foreach (var s in streams)
                counts[s] = counts.GetValueOrDefault(s) + 1;
            var map = counts.ToDictionary(kv => kv.Key, kv => new int[kv.Value]);
            var filled = counts.Keys.ToDictionary(k => k, _ => 0);
            for (var row = 0; row < streams.Length; row++)
            {
                var s = streams[row];
                map[s][filled[s]++] = row;
            }
            return rowsByStream = map;
        }
    }

    /// <summary>Parent of each stack id (index = id; 0 is the root).</summary>
    public int[] StackParents() => StackParents(stacks);

    /// <summary>The ip of each stack id (index = id).</summary>
    public ulong[] StackIps() => StackIps(stacks);

    /// <summary>A display name per ip: the function, else module+0xoffset; ips without a name are left out.</summary>
    public Dictionary<ulong, string> FrameNames() => FrameNames(frames);

    // The same from the stacks and frames tables alone (aggregated captures have no allocations table).
    internal static int[] StackParents(RecordBatch stacks)
    {
        var ids = Values<int>(stacks, "stack_id");
        var parents = Values<int>(stacks, "parent_id");
        var result = new int[ids.Length + 1];
        for (var i = 0; i < ids.Length; i++)
            result[ids[i]] = parents[i];
        return result;
    }

    internal static ulong[] StackIps(RecordBatch stacks)
    {
        var ids = Values<int>(stacks, "stack_id");
        var ips = Values<ulong>(stacks, "ip");
        var result = new ulong[ids.Length + 1];
        for (var i = 0; i < ids.Length; i++)
            result[ids[i]] = ips[i];
        return result;
    }

    /// <summary>
    /// Source frames of the ips with DWARF or PDB lines (the frames table's file, line and inlined), innermost first: the inlined
    /// functions, then the ip's own function (Function null) with its file and line.
    /// </summary>
    internal static Dictionary<ulong, Format.SourceFrame[]> SourceFrames(RecordBatch frames)
    {
        var result = new Dictionary<ulong, Format.SourceFrame[]>();
        var ips = Values<ulong>(frames, "ip");
        var files = (StringArray)frames.Column("file");
        var lines = (Int32Array)frames.Column("line");
        var inlined = (StringArray)frames.Column("inlined");
        for (var i = 0; i < ips.Length; i++)
        {
            if (files.IsNull(i) && inlined.IsNull(i))
                continue;
            var inner = Symbols.InlinedColumn.Decode(inlined.GetString(i));
            result[ips[i]] = [.. inner, new Format.SourceFrame(null, files.GetString(i), lines.GetValue(i) ?? 0)];
        }
        return result;
    }

    /// <summary>Why each managed ip without a line has none (frames table's <c>no_line</c>, layout 7); empty for older layouts.</summary>
    internal static Dictionary<ulong, string> NoLineReasons(RecordBatch frames)
    {
        var result = new Dictionary<ulong, string>();
        if (frames.Schema.GetFieldIndex("no_line") < 0)
            return result;
        var ips = Values<ulong>(frames, "ip");
        var reasons = (StringArray)frames.Column("no_line");
        for (var i = 0; i < ips.Length; i++)
            if (!reasons.IsNull(i))
                result[ips[i]] = reasons.GetString(i);
        return result;
    }

    /// <summary>
    /// The frames of every ip of the frames table as stacks show them, innermost first (<see cref="Stacks.StackFrames.OfAddress(ulong, string, string, ulong, IReadOnlyList{Format.SourceFrame})"/>):
    /// inlined functions, then the ip's own function, each with its file and line.
    /// </summary>
    internal static Dictionary<ulong, Stacks.ShownFrame[]> FramesByIp(RecordBatch frames) => FramesByIp(frames, static (_, shown) => shown);

    /// <summary><see cref="FramesByIp(RecordBatch)"/>, each ip's frames and frames-table row made into a <typeparamref name="T"/>.</summary>
    internal static Dictionary<ulong, T> FramesByIp<T>(RecordBatch frames, Func<int, Stacks.ShownFrame[], T> select)
    {
        var ips = Values<ulong>(frames, "ip");
        var functions = ShownFunctions(frames);
        var modules = (StringArray)frames.Column("module");
        var offsets = Values<ulong>(frames, "offset");
        var sources = SourceFrames(frames);
        var noLines = frames.Schema.GetFieldIndex("no_line") >= 0 ? (StringArray)frames.Column("no_line") : null;
        var result = new Dictionary<ulong, T>(ips.Length);
        for (var i = 0; i < ips.Length; i++)
            result[ips[i]] = select(i, Stacks.StackFrames.OfAddress(ips[i], functions[i], modules.GetString(i) ?? "", offsets[i],
                sources.TryGetValue(ips[i], out var source) ? source : [], noLines is null || noLines.IsNull(i) ? null : noLines.GetString(i)));
        return result;
    }

    /// <summary>The frames of an ip the frames table does not list: its address alone (<see cref="Stacks.StackFrames.Unlisted"/>).</summary>
    internal static Stacks.ShownFrame[] UnlistedFrames(ulong ip) => [Stacks.StackFrames.Unlisted(ip)];

    internal static Dictionary<ulong, string> FrameNames(RecordBatch frames)
    {
        var ips = Values<ulong>(frames, "ip");
        var functions = ShownFunctions(frames);
        var modules = (StringArray)frames.Column("module");
        var offsets = Values<ulong>(frames, "offset");
        var names = new Dictionary<ulong, string>();
        for (var i = 0; i < ips.Length; i++)
        {
            var function = functions[i];
            if ((function.Length > 0 ? function : Symbols.FrameNaming.ModuleOffset(modules.GetString(i) ?? "", offsets[i])) is { } name)
                names[ips[i]] = name;
        }
        return names;
    }

    /// <summary>
    /// The function column: frames as shown (<see cref="Symbols.FrameNaming"/>; the recorded name is in <c>raw_function</c>).
    /// A table of any other columns is refused when it is read (<see cref="Arrow.ArrowTableReader.ReadTable"/>).
    /// </summary>
    internal static string[] ShownFunctions(RecordBatch frames)
    {
        var functions = (StringArray)frames.Column("function");
        var shown = new string[frames.Length];
        for (var i = 0; i < shown.Length; i++)
            shown[i] = functions.GetString(i) ?? "";
        return shown;
    }

    /// <summary>(stream, os thread id, name) of every thread in the threads table, by stream.</summary>
    public IReadOnlyList<(int Stream, long OsThreadId, string? Name)> Threads
    {
        get
        {
            var streams = Values<int>(threads, "thread_stream");
            var tids = Values<long>(threads, "os_thread_id");
            var names = (StringArray)threads.Column("name");
            var list = new List<(int, long, string?)>();
            for (var i = 0; i < streams.Length; i++)
                list.Add((streams[i], tids[i], names.IsNull(i) ? null : names.GetString(i)));
            return list;
        }
    }
}
