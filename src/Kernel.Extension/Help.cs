using System.Net;
using MemNotebook.Recorder.Launching;
using MemNotebook.Recorder.Reports;
using MemNotebook.Recorder.Tracing;

namespace MemNotebook.Kernel;

/// <summary>The texts the extension shows: on loading, when the tracer is missing, after installing the kernel.</summary>
internal static class Help
{
    public static string LoadedHtml()
    {
        var mode = Tracker.IsAvailable
            ? "This kernel was started with the tracer: <b>exact mode</b> (every allocation, its stack and when it died)."
            : $"This kernel was started without the tracer: <b>sampled mode</b> (the runtime's allocation samples, one per ~100 KB, and estimates from them). Run <code>#!memprofile --install-kernel</code> once, then switch the kernel to <b>{E(JupyterKernelSpec.DisplayName)}</b> for exact mode.";
        return $"""
            <div style="font-family:sans-serif;font-size:13px">
            <b>MemNotebook</b> loaded. Start a cell with <code>#!memprofile</code> to profile its memory; the reports render below it and the capture is set as the C# variable <code>memprofile</code>.<br>
            {mode}<br>
            Options: <code>--leaks</code>, <code>--temporary N</code>, <code>--all</code>, <code>--inverted</code>, <code>--split-threads</code>, <code>--name VAR</code>, <code>--output PATH</code>,
            <code>--report {string.Join(',', ReportCatalog.Notebook.Select(r => r.Name))}</code>, <code>--live</code>, <code>--aggregate</code>, <code>--install-kernel</code>. Later cells: <code>Capture.Load(path)</code>, <code>memprofile.Peak().TopFunctions(10)</code>.
            </div>
            """;
    }

    /// <summary>How to get exact mode, for the texts of sampled mode.</summary>
    public static string ExactModeHint() =>
        $"for every allocation, run `#!memprofile --install-kernel` and switch the kernel to '{JupyterKernelSpec.DisplayName}'";

    /// <summary>What the heading of a sampled cell says about its mode.</summary>
    public static string SampledModeText() =>
        "sampled mode: this kernel was started without the tracer, so the allocations are estimated from the runtime's " +
        $"allocation sampling, one sample per ~100 KB; {ExactModeHint()}";

    public static string KernelInstalled(KernelSpecInstallation installed) => $"""
        <div style="font-family:sans-serif;font-size:13px">
        Installed the Jupyter kernel <b>{E(JupyterKernelSpec.DisplayName)}</b> (<code>{E(JupyterKernelSpec.Name)}</code>) in <code>{E(installed.Folder)}</code>.
        Switch this notebook's kernel to it (Kernel → Change kernel) and run <code>#!memprofile</code> cells in exact mode.
        Every allocation of that kernel goes through the tracer's allocation hook, even when no cell is recorded: use it for profiling, not for everything.
        </div>
        """;

    public static string Problem(string text) => $"<div style=\"font-family:sans-serif;font-size:13px;color:#b00\">{E(text)}</div>";

    /// <summary>A problem that is a defect of ours: the text, and the exception's type and stack folded below it for a report.</summary>
    public static string Problem(string text, Exception exception) =>
        $"<div style=\"font-family:sans-serif;font-size:13px;color:#b00\">{E(text)}<details><summary>details for a bug report</summary>" +
        $"<pre style=\"font-size:11px;color:#444\">{E(exception.ToString())}</pre></details></div>";

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
