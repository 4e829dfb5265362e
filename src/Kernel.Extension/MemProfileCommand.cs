using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;

namespace MemNotebook.Kernel;

/// <summary>
/// <c>#!memprofile [options]</c>: the options of one profiled cell, as the kernel's directive parser
/// fills them (each <c>--kebab-name</c> parameter binds to the property of the same name).
/// </summary>
public sealed class MemProfileCommand : KernelDirectiveCommand
{
    /// <summary>Also record native allocations (malloc, mmap, …) with merged stacks.</summary>
    public bool Native { get; set; }

    /// <summary>Show what was still alive when the cell ended.</summary>
    public bool Leaks { get; set; }

    /// <summary>Show temporary allocations: freed before N other allocations on the same thread.</summary>
    public int? Temporary { get; set; }

    /// <summary>Show every allocation of the cell, freed or not.</summary>
    public bool All { get; set; }

    public bool Inverted { get; set; }

    public bool SplitThreads { get; set; }

    /// <summary>The C# variable that receives the <see cref="MemNotebook.Capture"/>.</summary>
    public string? Name { get; set; }

    /// <summary>Where to keep the capture (default: a file in memprofile/ beside the notebook).</summary>
    public string? Output { get; set; }

    /// <summary>Which reports to show, comma-separated.</summary>
    public string? Report { get; set; }

    /// <summary>A gauge and chart of memory that update while the cell runs.</summary>
    public bool Live { get; set; }

    /// <summary>Keep totals per stack and type instead of every allocation.</summary>
    public bool Aggregate { get; set; }

    /// <summary>
    /// A symbol server for the .NET libraries' PDBs (managed frames' file:line), from this cell on for the kernel's
    /// reports; the same as <c>MEMNB_SYMBOL_SERVER</c> (docs/reports.md, "Lines").
    /// </summary>
    public string? SymbolServer { get; set; }

    /// <summary>Install the ".NET (C#) — memory tracer" Jupyter kernel (exact mode) instead of profiling.</summary>
    public bool InstallKernel { get; set; }

    public override IEnumerable<string> GetValidationErrors(CompositeKernel kernel)
    {
        foreach (var error in base.GetValidationErrors(kernel))
            yield return error;
        foreach (var error in MemProfileOptions.Validate(this))
            yield return error;
    }
}
