using Microsoft.AspNetCore.Html;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Formatting;

namespace MemNotebook.Kernel;

/// <summary>
/// Loaded by the kernel from the package's interactive-extensions/dotnet folder
/// (<c>#r "nuget:MemNotebook, *-*"</c>): adds <c>#!memprofile</c> to the C# kernel and shows a short help.
/// </summary>
public sealed class MemProfileExtension : IKernelExtension
{
    public Task OnLoadAsync(Microsoft.DotNet.Interactive.Kernel kernel)
    {
        var csharp = FindCSharpKernel(kernel)
            ?? throw new InvalidOperationException("MemNotebook needs a C# kernel: #!memprofile profiles C# cells");
        MemProfileMagic.Register(csharp);
        // A capture or a view in a cell's result shows its summary (the default formatter would walk
        // every property, DataFrames included).
        Formatter.Register<Capture>((capture, writer) => writer.Write(NotebookRenderer.CaptureHtml(capture)), HtmlFormatter.MimeType);
        Formatter.Register<Recorder.Analysis.AllocationView>((view, writer) => writer.Write(NotebookRenderer.ViewHtml(view)), HtmlFormatter.MimeType);
        // Charts (MemNotebook.Charts, in this assembly) for the cells, drawn with the plotly.js sent once per kernel.
        csharp.AddAssemblyReferences([typeof(Charts).Assembly.Location]);
        Formatter.Register<XPlot.Plotly.PlotlyChart>((chart, writer) =>
            writer.Write(NotebookRenderer.PlotlyOnce(csharp) + $"<div class=\"{NotebookRenderer.ChartClass}\">{Charts.SafeHtml(chart)}</div>"), HtmlFormatter.MimeType);
        KernelInvocationContext.Current?.Display(new HtmlString(Help.LoadedHtml()), HtmlFormatter.MimeType);
        // The report code compiled now, in the background, rather than after the first profiled cell; a recording started
        // meanwhile (a #!memprofile cell, or a cell's own Tracker.Start) begins once it has ended.
        Recorder.Tracing.Tracker.StartGate = ReportWarmup.WaitUntilDone;
        ReportWarmup.Start();
        return Task.CompletedTask;
    }

    internal static CSharpKernel? FindCSharpKernel(Microsoft.DotNet.Interactive.Kernel kernel) => kernel switch
    {
        CSharpKernel csharp => csharp,
        CompositeKernel composite => composite.ChildKernels.OfType<CSharpKernel>().FirstOrDefault(),
        _ => null,
    };
}
