using Apache.Arrow;

namespace MemNotebook.Recorder.Symbols;

/// <summary>
/// The entry stubs Roslyn scripting adds to every notebook cell (script submission): <c>Submission#N.&lt;Factory&gt;</c>,
/// which the script host calls, and <c>Submission#N.&lt;Initialize&gt;</c>, which starts the state machine holding the
/// cell's code (<c>Submission#N+&lt;&lt;Initialize&gt;&gt;d__0.MoveNext</c>, shown as <c>cell N</c>). The user never wrote
/// them and they have no source line (no sequence point), so stacks leave them out, as they leave out the runtime's
/// allocation helpers: flame graphs, trees, speedscope and the stacks of stats and notebooks. The frames table keeps them.
/// </summary>
public static class ScriptPlumbing
{
    private const string SubmissionPrefix = "Submission#";

    /// <summary>True for the recorded name of a cell's entry stub.</summary>
    public static bool IsEntryStub(string rawFunction)
    {
        if (!rawFunction.StartsWith(SubmissionPrefix, StringComparison.Ordinal))
            return false;
        var rest = rawFunction.AsSpan(SubmissionPrefix.Length);
        var digits = 0;
        while (digits < rest.Length && char.IsAsciiDigit(rest[digits]))
            digits++;
        if (digits == 0)
            return false;
        var method = rest[digits..];
        return method is ".<Factory>" or ".<Initialize>";
    }

    /// <summary>The ips of the frames table whose function is a cell's entry stub (managed frames only).</summary>
    public static HashSet<ulong> HiddenIps(RecordBatch frames)
    {
        var hidden = new HashSet<ulong>();
        var raw = (StringArray)frames.Column(frames.Schema.GetFieldIndex("raw_function") >= 0 ? "raw_function" : "function");
        var ips = (UInt64Array)frames.Column("ip");
        var kinds = (StringArray)frames.Column("kind");
        for (var i = 0; i < frames.Length; i++)
            if (kinds.GetString(i) == "managed" && IsEntryStub(raw.GetString(i) ?? ""))
                hidden.Add(ips.GetValue(i)!.Value);
        return hidden;
    }
}
