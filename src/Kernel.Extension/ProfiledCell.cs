using System.Reactive.Linq;
using MemNotebook.Recorder.Arrow;
using MemNotebook.Recorder.Launching;
using MemNotebook.Recorder.Storage;
using MemNotebook.Recorder.Tracing;
using Microsoft.AspNetCore.Html;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.Formatting;

namespace MemNotebook.Kernel;

/// <summary>
/// One <c>#!memprofile</c> cell: recording starts when the directive runs (before the rest of the cell)
/// and stops when the cell's submission ends, whether it succeeded or threw; then the capture is loaded,
/// the reports are displayed below the cell and the capture is set as a C# variable.
/// </summary>
internal sealed class ProfiledCell
{
    private static int s_cells;

    private readonly CSharpKernel kernel;
    private readonly MemProfileOptions options;
    private readonly string path;
    private readonly Tracker tracker;
    private readonly LiveMemoryDisplay? live;
    private readonly CellProgress progress;
    private readonly DateTimeOffset started = DateTimeOffset.Now;
    private readonly List<string> warnings;
    private IDisposable? subscription;
    private int finished;
    private bool sampled;

    private ProfiledCell(CSharpKernel kernel, MemProfileOptions options, string path, Tracker tracker, LiveMemoryDisplay? live, CellProgress progress, List<string> warnings)
    {
        this.progress = progress;
        this.kernel = kernel;
        this.options = options;
        this.path = path;
        this.tracker = tracker;
        this.live = live;
        this.warnings = warnings;
    }

    public static Task BeginAsync(CSharpKernel kernel, MemProfileCommand command, KernelInvocationContext context)
    {
        var options = MemProfileOptions.From(command);
        // Kept for the kernel's later reports too, as MEMNB_SYMBOL_SERVER would be.
        if (command.SymbolServer is { } symbolServer)
            Recorder.Symbols.SymbolServer.Server = symbolServer;
        if (command.InstallKernel)
        {
            InstallKernel(context);
            return Task.CompletedTask;
        }
        if (Tracker.IsRecording)
            throw new InvalidOperationException("#!memprofile: a recording is already running in this kernel (a #!memprofile cell is still running, or code called Tracker.Start without stopping it)");
        // Without the tracer at startup: sampled mode, the tracer attached to this kernel once.
        var sampled = !Tracker.IsAvailable;
        if (sampled && options.Aggregate)
            throw new NotSupportedException("#!memprofile --aggregate needs exact mode; " + Help.ExactModeHint());
        if (sampled)
            SampledMode.EnsureAttached();

        // Nothing the warm-up allocates or compiles may land in the capture: Tracker.Start waits for it (Tracker.StartGate).
        var cell = Interlocked.Increment(ref s_cells);
        var warnings = new List<string>();
        var path = CapturePath(options.Output, cell, warnings);
        var tracker = Tracker.Start(path, new TrackerOptions { Overwrite = true, Aggregate = options.Aggregate, Native = options.Native, Sampled = sampled });
        var live = options.Live ? LiveMemoryDisplay.Start(context) : null;
        var progress = CellProgress.Start(context);
        var profiled = new ProfiledCell(kernel, options, path, tracker, live, progress, warnings) { sampled = sampled };
        profiled.Watch(context);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Finishes when the cell's submission ends. A failing cell's OnComplete output is dropped by the
    /// kernel, so a failure finishes on the CommandFailed event, before it is delivered.
    /// </summary>
    private void Watch(KernelInvocationContext context)
    {
        var root = context.Command;
        subscription = context.KernelEvents
            .Where(e => e is CommandFailed failed && (failed.Command == root || IsWithin(failed.Command, root)))
            .Subscribe(e => Finish(context, ((CommandFailed)e).Exception?.Message ?? ((CommandFailed)e).Message));
        context.OnComplete(c => Finish(c, failure: null));
    }

    private static bool IsWithin(KernelCommand command, KernelCommand root)
    {
        for (var c = command.Parent; c is not null; c = c.Parent)
            if (c == root)
                return true;
        return false;
    }

    private void Finish(KernelInvocationContext context, string? failure)
    {
        if (Interlocked.Exchange(ref finished, 1) != 0)
            return;
        subscription?.Dispose();
        Capture? capture = null;
        try
        {
            tracker.Stop();
            live?.Stop();
            var result = CellReports.Build(path, options, Summary(failure), kernel,
                output: (html, _) => context.Display(new HtmlString(html), HtmlFormatter.MimeType), progress: progress.Step);
            capture = result.Capture;
            progress.Done(result.Steps);
        }
        catch (Exception ex)
        {
            progress.Failed();
            context.Display(new HtmlString(Help.Problem($"#!memprofile could not finish the report of {path}: {ex.Message}", ex)), HtmlFormatter.MimeType);
            // The capture is complete on disk whatever failed in the reports: the variable still gets it, loaded when used.
            if (File.Exists(path))
                capture = CellReports.Unreported(path, options);
        }
        if (capture is null)
            return;
        try
        {
            kernel.SetValueAsync(options.Variable, capture, typeof(Capture)).GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            context.Display(new HtmlString(Help.Problem($"#!memprofile could not set the variable {options.Variable} to the capture {path}: {ex.Message}", ex)), HtmlFormatter.MimeType);
        }
    }

    private NotebookRenderer.Heading Summary(string? failure) =>
        new(Mode: sampled ? "sampled" : "exact", CapturePath: path, Variable: options.Variable, Started: started, Failure: failure, Warnings: warnings);

    /// <summary>
    /// <paramref name="output"/> when given and writable (a problem is reported and the default is used),
    /// else memprofile/cell-N-time.memnb in the working directory (the notebook's folder in Jupyter).
    /// </summary>
    internal static string CapturePath(string? output, int cell, List<string> warnings)
    {
        if (output is not null)
        {
            var full = Path.GetFullPath(output);
            var problem = WriteProblem(full);
            if (problem is null)
                return full;
            warnings.Add($"--output {output}: {problem}; the capture is kept at the default path instead");
        }
        var folder = Path.Combine(Environment.CurrentDirectory, "memprofile");
        var name = $"cell-{cell}-{DateTime.Now:yyyyMMdd-HHmmss}.memnb";
        var problemDefault = WriteProblem(Path.Combine(folder, name));
        if (problemDefault is not null)
        {
            // Not a shared folder such as /tmp/memprofile: another user could have made it, and read or replace the captures.
            folder = UserCache.Folder("memprofile");
            warnings.Add($"the folder memprofile/ here {problemDefault}; the capture is kept in {folder} instead");
        }
        PrivateFiles.CreateDirectory(folder);
        return Path.Combine(folder, name);
    }

    /// <summary>Why <paramref name="file"/> cannot be written, or null.</summary>
    private static string? WriteProblem(string file)
    {
        if (Directory.Exists(file))
            return "is a directory";
        var folder = Path.GetDirectoryName(file)!;
        try
        {
            PrivateFiles.CreateDirectory(folder);
            var probe = Path.Combine(folder, $".memprofile-probe-{Environment.ProcessId}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
            if (File.Exists(file))
                using (File.OpenWrite(file)) { }
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"cannot be written ({ex.Message})";
        }
    }

    private static void InstallKernel(KernelInvocationContext context)
    {
        var tracer = Tracker.TracerFile
            ?? throw new FileNotFoundException($"#!memprofile --install-kernel: {TracerLocation.FileName} is not in this MemNotebook package");
        var installed = JupyterKernelSpec.Install(tracer);
        context.Display(new HtmlString(Help.KernelInstalled(installed)), HtmlFormatter.MimeType);
    }
}
