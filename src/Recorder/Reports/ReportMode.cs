using MemNotebook.Recorder.Analysis;

namespace MemNotebook.Recorder.Reports;

/// <summary>Which allocations a report shows.</summary>
public enum ReportMode
{
    /// <summary>Alive at the high-water mark (the default of every report).</summary>
    Peak,
    /// <summary>Every allocation.</summary>
    Allocated,
    /// <summary>Alive when recording stopped.</summary>
    Leaks,
    /// <summary>Freed before N other allocations on the same thread (<see cref="AllocationView.Temporary"/>).</summary>
    Temporary,
}

/// <summary>A report's mode and, for <see cref="ReportMode.Temporary"/>, its threshold.</summary>
public readonly record struct ReportSelection(ReportMode Mode, int TemporaryThreshold = 1)
{
    public static ReportSelection Peak => new(ReportMode.Peak);

    /// <summary>
    /// The problems of the options --all, --leaks and --temporary N, as the report verbs of memnb and <c>#!memprofile</c>
    /// take them: at most one of the three, and N at least 1. Empty when they are usable.
    /// </summary>
    public static IEnumerable<string> OptionProblems(bool all, bool leaks, int? temporary)
    {
        if ((all ? 1 : 0) + (leaks ? 1 : 0) + (temporary is null ? 0 : 1) > 1)
            yield return "--all, --leaks and --temporary exclude each other";
        if (temporary is < 1)
            yield return $"--temporary {temporary}: the threshold must be a whole number of at least 1 (freed before N other allocations on the same thread)";
    }

    /// <summary>
    /// The selection of the options --all (every allocation), --leaks (alive at the end) and --temporary N; alive at
    /// the peak when none is given. Throws <see cref="ArgumentException"/> with the <see cref="OptionProblems"/>.
    /// </summary>
    public static ReportSelection FromOptions(bool all, bool leaks, int? temporary)
    {
        var problems = OptionProblems(all, leaks, temporary).ToList();
        if (problems.Count > 0)
            throw new ArgumentException(string.Join(Environment.NewLine, problems));
        return all ? new ReportSelection(ReportMode.Allocated)
            : leaks ? new ReportSelection(ReportMode.Leaks)
            : temporary is int n ? new ReportSelection(ReportMode.Temporary, n)
            : Peak;
    }

    /// <summary>The view of <paramref name="capture"/> a report in this mode is computed from.</summary>
    public AllocationView ViewOf(Capture capture) => Mode switch
    {
        ReportMode.Peak => capture.Peak(),
        ReportMode.Allocated => capture.All,
        ReportMode.Leaks => capture.Leaks(),
        ReportMode.Temporary => capture.Temporary(TemporaryThreshold),
        _ => throw new ArgumentOutOfRangeException(nameof(Mode), Mode, "Peak, Allocated, Leaks or Temporary"),
    };

    /// <summary>
    /// The heading of this mode's view of <paramref name="capture"/>: <see cref="Title"/>, and the capture's scope when it
    /// has one. The peak of a capture with native allocations is named the managed peak: the view holds what was alive
    /// when the managed high-water mark was reached (native blocks alive then included), not at the native one.
    /// </summary>
    public string TitleOf(Capture capture)
    {
        var title = Mode == ReportMode.Peak && capture.HasNative ? "alive at the managed peak" : Title;
        return capture.Scope is null ? title : $"{title}, {capture.Scope}";
    }

    /// <summary>A heading for the view: "alive at the peak", "temporary (freed before 2 other allocations …)".</summary>
    public string Title => Mode switch
    {
        ReportMode.Peak => "alive at the peak",
        ReportMode.Allocated => "all allocations",
        ReportMode.Leaks => "leaked (alive at the end)",
        ReportMode.Temporary => $"temporary (freed before {TemporaryThreshold} other allocation{(TemporaryThreshold == 1 ? "" : "s")} on the same thread)",
        _ => Mode.ToString(),
    };
}
