using MemNotebook.Recorder.Reports;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Directives;

namespace MemNotebook.Kernel;

/// <summary>The <c>#!memprofile</c> directive: its parameters (with help and completions) and its handler.</summary>
public static class MemProfileMagic
{
    public const string DirectiveName = "#!memprofile";

    public static KernelActionDirective CreateDirective() => new(DirectiveName)
    {
        Description = "Profile the memory of the rest of this cell: every managed allocation with its stack and lifetime; reports render below the cell and the capture is set as a C# variable",
        Parameters =
        {
            new KernelDirectiveParameter("--native", "Also record native allocations (malloc, mmap, ...) with merged managed + native stacks") { Flag = true },
            new KernelDirectiveParameter("--leaks", "Show what was still alive when the cell ended") { Flag = true },
            new KernelDirectiveParameter("--temporary", "Show temporary allocations: freed before N other allocations on the same thread (N = 1: freed before the next one)") { TypeHint = "number" }
                .AddCompletions(() => ["1", "2", "5", "10"]),
            new KernelDirectiveParameter("--all", "Show every allocation of the cell, freed or not (default: alive at the cell's peak)") { Flag = true },
            new KernelDirectiveParameter("--inverted", "Flame graph with the allocating frames at the top, their callers below") { Flag = true },
            new KernelDirectiveParameter("--split-threads", "One flame-graph subtree per thread, with a thread filter") { Flag = true },
            new KernelDirectiveParameter("--name", $"The C# variable that receives the capture (default {MemProfileOptions.DefaultVariable})") { TypeHint = "text" }
                .AddCompletions(() => [MemProfileOptions.DefaultVariable]),
            new KernelDirectiveParameter("--output", "Keep the capture at this path (default: memprofile/ beside the notebook)") { TypeHint = "file" },
            new KernelDirectiveParameter("--report", ReportCatalog.NotebookHelp) { TypeHint = "text" }
                .AddCompletions(() => ReportCatalog.Notebook.Select(r => r.Name)
                    .Append(string.Join(',', ReportCatalog.NotebookDefaults.Select(r => r.Name))).Append("none")),
            new KernelDirectiveParameter("--live", "Show memory (RSS, GC heap, recorded allocations) updating while the cell runs") { Flag = true },
            new KernelDirectiveParameter("--aggregate", "Keep totals per stack and type instead of every allocation (for long cells)") { Flag = true },
            new KernelDirectiveParameter("--symbol-server", "Download the PDBs of the .NET libraries from this symbol server for the file:line of their frames, from this cell on (e.g. https://msdl.microsoft.com/download/symbols)") { TypeHint = "text" }
                .AddCompletions(() => ["https://msdl.microsoft.com/download/symbols"]),
            new KernelDirectiveParameter("--install-kernel", "Install the Jupyter kernel '" + Recorder.Launching.JupyterKernelSpec.DisplayName + "' (exact mode) instead of profiling") { Flag = true },
        },
    };

    /// <summary>Adds <c>#!memprofile</c> to <paramref name="kernel"/>.</summary>
    public static void Register(CSharpKernel kernel)
    {
        if (kernel.KernelInfo.SupportedDirectives.Any(d => d.Name == DirectiveName))
            return;
        kernel.AddDirective<MemProfileCommand>(CreateDirective(), (command, context) => ProfiledCell.BeginAsync(kernel, command, context));
    }
}
