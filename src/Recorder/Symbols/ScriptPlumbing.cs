using Apache.Arrow;

namespace MemNotebook.Recorder.Symbols;

/// <summary>
/// The entry stubs Roslyn scripting adds to every notebook cell (script submission): <c>Submission#N.&lt;Factory&gt;</c>,
/// which the script host calls, and <c>Submission#N.&lt;Initialize&gt;</c>, which starts the state machine holding the
/// cell's code (<c>Submission#N+&lt;&lt;Initialize&gt;&gt;d__0.MoveNext</c>, shown as <c>cell N</c>). The user never wrote
/// them and they have no source line (no sequence point), so the stacks they pass through leave them out: flame graphs,
/// trees, speedscope and <c>Columns.FrameNames</c>. A stack one of them ends (the state machine <c>&lt;Initialize&gt;</c>
/// allocates in a cell compiled for debugging, the submission object <c>&lt;Factory&gt;</c> creates) keeps it, with its
/// marker (<c>cell N (no line: no sequence point)</c>). The frames table keeps them, and so do the stacks of <c>Stats()</c>.
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
