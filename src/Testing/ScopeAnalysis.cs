using System.Globalization;
using System.Text;
using Apache.Arrow;
using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Arrow;
using MemNotebook.Recorder.Stacks;

namespace MemNotebook.Testing;

/// <summary>
/// Reads the capture of one measured test and finds the test's own allocations: those a thread made while it ran
/// in the test's execution context (between a ScopeEntered and a ScopeLeft marker of its stream, before the test's
/// ScopeClosed), less those of the test framework's own code in that context: the innermost frame outside the
/// runtime's libraries is a test framework's, and no frame is the test class's (a framework that dispatches the
/// test's continuations stays below the test's code, which is the innermost then).
/// </summary>
internal static class ScopeAnalysis
{
    /// <summary>Stacks shown under a failed limit, by bytes.</summary>
    public const int TopStacks = 5;

    /// <summary>Frames shown for each stack, innermost first, when the test's own frame is not among them sooner.</summary>
    public const int MaxFrames = 16;

    /// <summary>Namespaces of the test frameworks and of this library: their frames alone do not make an allocation the test's.</summary>
    private static readonly string[] FrameworkPrefixes =
    [
        "Xunit.", "NUnit.", "Microsoft.VisualStudio.TestTools.", "Microsoft.VisualStudio.TestPlatform.",
        "Microsoft.Testing.", "MSTest.",
    ];

    /// <summary>This library's own types (namespace MemNotebook.Testing, not the namespaces under it).</summary>
    private static readonly HashSet<string> OwnTypes = typeof(ScopeAnalysis).Assembly.GetTypes()
        .Where(t => t.Namespace == "MemNotebook.Testing").Select(t => t.Name).ToHashSet(StringComparer.Ordinal);

    private static bool IsFramework(string function)
    {
        if (FrameworkPrefixes.Any(p => function.StartsWith(p, StringComparison.Ordinal)))
            return true;
        const string own = "MemNotebook.Testing.";
        if (!function.StartsWith(own, StringComparison.Ordinal))
            return false;
        var end = function.AsSpan(own.Length).IndexOfAny('.', '+');
        return end > 0 && OwnTypes.Contains(function.Substring(own.Length, end));
    }

    /// <summary>The runtime's libraries: code the test and the framework both call, which decides nothing.</summary>
    private static readonly string[] RuntimePrefixes = ["System.", "Internal."];

    public static MemoryMeasurement Measure(LimitRun run, string capturePath, bool keepCapture)
    {
        var capture = Capture.Load(capturePath);
        var c = capture.Columns;
        // Managed frames only: a native frame between two managed ones (the runtime running a static constructor) has
        // no namespace to tell whose code it is.
        var names = ManagedFrameNames(capture.ArrowTable(ArrowLayout.Frames));
        var parents = c.StackParents();
        var ips = c.StackIps();
        var stacks = new StackFlags(parents, ips, names);
        var testClass = run.Request.TestClass is { } type ? (type.IsGenericType ? type.GetGenericTypeDefinition() : type).FullName : null;
        var isTestFrame = testClass is null ? null : FrameMatcher.For(testClass);

        var entered = TypeIds(c, typeof(ScopeEntered));
        var left = TypeIds(c, typeof(ScopeLeft));
        var closed = TypeIds(c, typeof(ScopeClosed));
        // Arrays, not spans over the table: the filters below are lambdas.
        var types = c.TypeId.ToArray();
        var threads = c.ThreadStream;
        var time = c.TimestampNs;
        var stackIds = c.StackId.ToArray();
        var size = c.Size.ToArray();
        var freed = c.FreedAtNs.ToArray();

        var closedAt = long.MaxValue;
        for (var r = 0; r < c.Count; r++)
            if (closed.Contains(types[r]))
                closedAt = Math.Min(closedAt, time[r]);
        if (closedAt == long.MaxValue)
            throw new MemoryLimitException($"{run.Request.TestName}: the capture {capturePath} has no end marker of the test: it cannot be measured");

        var inScope = new HashSet<int>();
        var framework = stacks.InnermostOutside(RuntimePrefixes, IsFramework);
        var test = isTestFrame is null ? null : stacks.Memo(isTestFrame);
        var rows = new List<int>();
        for (var r = 0; r < c.Count; r++)
        {
            var t = types[r];
            if (entered.Contains(t)) { inScope.Add(threads[r]); continue; }
            if (left.Contains(t) || closed.Contains(t)) { inScope.Remove(threads[r]); continue; }
            if (t < 0 || !inScope.Contains(threads[r]) || time[r] > closedAt)
                continue;
            if (framework(stackIds[r]) && (test is null || !test(stackIds[r])))
                continue;
            rows.Add(r);
        }

        var whole = capture.WithinRows(rows, $"allocations of {run.Request.TestName}");
        long allocated = 0, leaked = 0, leakedCount = 0;
        foreach (var r in rows)
        {
            allocated += size[r];
            if (freed[r] == -1) { leaked += size[r]; leakedCount++; }
        }

        var results = new List<LimitResult>();
        var failure = new StringBuilder();
        for (var i = 0; i < run.Request.Limits.Count; i++)
        {
            var limit = run.Request.Limits[i];
            var frameFilter = limit.Frame is null ? null : stacks.Memo(FrameMatcher.For(limit.Frame));
            var mine = limit.Type is null && limit.Frame is null ? rows
                : rows.Where(r => (limit.Type is null || c.TypeName(types[r]) == limit.Type) && (frameFilter is null || frameFilter(stackIds[r]))).ToList();
            var scoped = ReferenceEquals(mine, rows) ? whole : capture.WithinRows(mine, $"allocations of {run.Request.TestName} ({limit.Describe()})");
            IReadOnlyList<int> shown;
            long measured, count;
            string what;
            switch (limit.Kind)
            {
                case MemoryLimitKind.AllocatedBytes:
                    shown = mine;
                    measured = mine.Sum(r => size[r]);
                    count = mine.Count;
                    what = "allocated";
                    break;
                case MemoryLimitKind.PeakBytes:
                    shown = scoped.Peak().Rows;
                    measured = scoped.PeakBytes;
                    count = shown.Count;
                    what = "held at its peak";
                    break;
                default:
                    shown = mine.Where(r => freed[r] == -1).ToList();
                    measured = shown.Sum(r => size[r]);
                    count = shown.Count;
                    what = "still reachable after the test and a full GC";
                    break;
            }
            var result = new LimitResult(limit, run.LimitBytes[i], measured, count);
            results.Add(result);
            if (!result.Exceeded)
                continue;
            if (failure.Length > 0)
                failure.AppendLine();
            failure.Append(CultureInfo.InvariantCulture, $"{run.Request.TestName}: {limit.Describe()} exceeded: {ByteSize.Describe(measured)} in {count:N0} objects {what}, against a limit of {ByteSize.Describe(run.LimitBytes[i])} (\"{limit.Size}\")");
            if (limit.Type is not null || limit.Frame is not null)
                failure.Append(" — counting only ").Append(limit.Type is null ? "" : $"objects of type {limit.Type}")
                    .Append(limit.Type is not null && limit.Frame is not null ? " " : "").Append(limit.Frame is null ? "" : $"allocated under {limit.Frame}");
            failure.AppendLine(".");
            AppendStacks(failure, capture, shown, isTestFrame);
        }
        if (failure.Length > 0 && keepCapture)
            failure.AppendLine().Append(CultureInfo.InvariantCulture, $"Capture: {capturePath} (memnb flamegraph --all {capturePath})");
        return new MemoryMeasurement
        {
            TestName = run.Request.TestName,
            AllocatedBytes = allocated,
            AllocatedCount = rows.Count,
            PeakBytes = whole.PeakBytes,
            LeakedBytes = leaked,
            LeakedCount = leakedCount,
            Results = results,
            CapturePath = keepCapture ? capturePath : null,
            Failure = failure.Length > 0 ? failure.ToString().TrimEnd() : null,
        };
    }

    private static HashSet<int> TypeIds(AllocationColumns c, Type marker)
    {
        var ids = new HashSet<int>();
        var types = c.TypeId;
        var seen = new HashSet<int>();
        for (var r = 0; r < c.Count; r++)
            if (seen.Add(types[r]) && c.TypeName(types[r]) == marker.FullName)
                ids.Add(types[r]);
        return ids;
    }

    /// <summary>"List of allocations": the stacks with the most bytes among <paramref name="rows"/>, each with its frames and file:line where known.</summary>
    private static void AppendStacks(StringBuilder text, Capture capture, IReadOnlyList<int> rows, Func<string, bool>? isTestFrame)
    {
        var c = capture.Columns;
        var stackIds = c.StackId;
        var size = c.Size;
        var types = c.TypeId;
        var byStack = new Dictionary<int, (long Bytes, long Count, Dictionary<int, long> Types)>();
        foreach (var r in rows)
        {
            var (bytes, count, typeBytes) = byStack.TryGetValue(stackIds[r], out var e) ? e : (0L, 0L, new Dictionary<int, long>());
            typeBytes[types[r]] = typeBytes.GetValueOrDefault(types[r]) + size[r];
            byStack[stackIds[r]] = (bytes + size[r], count + 1, typeBytes);
        }
        if (byStack.Count == 0)
            return;
        var frames = FrameLocations(capture.ArrowTable(ArrowLayout.Frames));
        var parents = c.StackParents();
        var ips = c.StackIps();
        text.AppendLine(CultureInfo.InvariantCulture, $"List of allocations (the {Math.Min(TopStacks, byStack.Count)} stacks with the most bytes, of {byStack.Count:N0}):");
        foreach (var (stack, (bytes, count, typeBytes)) in byStack.OrderByDescending(kv => kv.Value.Bytes).ThenBy(kv => kv.Key).Take(TopStacks))
        {
            var typeList = string.Join(", ", typeBytes.OrderByDescending(kv => kv.Value).Take(3).Select(kv => c.TypeName(kv.Key)));
            if (typeBytes.Count > 3)
                typeList += $" and {typeBytes.Count - 3} more types";
            text.AppendLine(CultureInfo.InvariantCulture, $"    - {ByteSize.Describe(bytes)} in {count:N0} objects ({typeList}) allocated here:");
            var shown = 0;
            var machinery = true;
            for (var at = stack; at > 0 && at < parents.Length && shown < MaxFrames; at = parents[at])
            {
                if (!frames.TryGetValue(ips[at], out var frame) || frame.Function.Length == 0)
                    continue;
                var name = frame.Recorded;
                if (machinery && AllocationMachinery.IsMachinery(name))
                    continue;
                machinery = false;
                text.Append("        ").Append(frame.Function);
                if (frame.File is not null)
                    text.Append(CultureInfo.InvariantCulture, $" ({frame.File}:{frame.Line})");
                text.AppendLine();
                shown++;
                // The test's outermost frame ends the list: what is below it is the runner.
                if (isTestFrame is not null && isTestFrame(name) && !HasTestFrameBelow(parents[at], parents, ips, frames, isTestFrame))
                    break;
            }
        }
    }

    private static bool HasTestFrameBelow(int stack, int[] parents, ulong[] ips, Dictionary<ulong, (string Function, string Recorded, string? File, int Line)> frames, Func<string, bool> isTestFrame)
    {
        for (var at = stack; at > 0 && at < parents.Length; at = parents[at])
            if (frames.TryGetValue(ips[at], out var f) && isTestFrame(f.Recorded))
                return true;
        return false;
    }

    /// <summary>The recorded (compiler's) names: namespaces and test classes are matched on these, not on the readable ones.</summary>
    private static StringArray RecordedNames(RecordBatch frames) =>
        (StringArray)frames.Column("raw_function");

    private static Dictionary<ulong, string> ManagedFrameNames(RecordBatch frames)
    {
        var ip = (UInt64Array)frames.Column("ip");
        var kind = (StringArray)frames.Column("kind");
        var function = RecordedNames(frames);
        var map = new Dictionary<ulong, string>(ip.Length);
        for (var i = 0; i < ip.Length; i++)
            if (kind.GetString(i) == "managed" && function.GetString(i) is { Length: > 0 } name)
                map[ip.GetValue(i)!.Value] = name;
        return map;
    }

    private static Dictionary<ulong, (string Function, string Recorded, string? File, int Line)> FrameLocations(RecordBatch frames)
    {
        var ip = (UInt64Array)frames.Column("ip");
        var function = (StringArray)frames.Column("function");
        var recorded = RecordedNames(frames);
        var file = (StringArray)frames.Column("file");
        var line = (Int32Array)frames.Column("line");
        var map = new Dictionary<ulong, (string, string, string?, int)>(ip.Length);
        for (var i = 0; i < ip.Length; i++)
            map[ip.GetValue(i)!.Value] = (function.GetString(i) ?? "", recorded.GetString(i) ?? "", file.IsNull(i) ? null : file.GetString(i), line.GetValue(i) ?? 0);
        return map;
    }

    /// <summary>Per stack id, whether a frame on it matches a predicate; computed once per stack node.</summary>
    private sealed class StackFlags(int[] parents, ulong[] ips, Dictionary<ulong, string> names)
    {
        /// <summary>Whether the innermost named frame not starting with one of <paramref name="skipped"/> matches; false when there is none.</summary>
        public Func<int, bool> InnermostOutside(string[] skipped, Func<string, bool> matches)
        {
            var known = new Dictionary<int, bool>();
            return stack =>
            {
                if (known.TryGetValue(stack, out var result))
                    return result;
                result = false;
                for (var s = stack; s > 0 && s < parents.Length; s = parents[s])
                {
                    if (!names.TryGetValue(ips[s], out var name) || name.Length == 0 || skipped.Any(p => name.StartsWith(p, StringComparison.Ordinal)))
                        continue;
                    result = matches(name);
                    break;
                }
                known[stack] = result;
                return result;
            };
        }

        public Func<int, bool> Memo(Func<string, bool> matches)
        {
            var known = new sbyte[parents.Length]; // 0 unknown, 1 yes, -1 no
            var path = new List<int>();
            return stack =>
            {
                path.Clear();
                var result = false;
                for (var s = stack; s > 0 && s < parents.Length; s = parents[s])
                {
                    if (known[s] != 0) { result = known[s] > 0; break; }
                    path.Add(s);
                    if (names.TryGetValue(ips[s], out var name) && matches(name)) { result = true; break; }
                }
                foreach (var s in path)
                    known[s] = (sbyte)(result ? 1 : -1);
                return result;
            };
        }
    }
}
