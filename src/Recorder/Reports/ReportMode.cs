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

    /// <summary>The view of <paramref name="capture"/> a report in this mode is computed from.</summary>
    public AllocationView ViewOf(global::MemNotebook.Capture capture) => Mode switch
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
    public string TitleOf(global::MemNotebook.Capture capture)
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
