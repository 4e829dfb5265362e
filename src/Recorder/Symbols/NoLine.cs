namespace MemNotebook.Recorder.Symbols;

/// <summary>
/// Why a managed frame has no file and line, and how reports say so: "name (no line: no PDB)" where a located frame
/// reads "name (File.cs:42)". The frames table's <c>file</c> and <c>line</c> stay null for such a frame; its
/// <c>no_line</c> column holds the reason.
/// </summary>
public static class NoLine
{
    /// <summary>The module's assembly has no portable PDB: none embedded, beside it or from a symbol server.</summary>
    public const string NoPdb = "no PDB";

    /// <summary>The module was loaded from memory without symbols (Reflection.Emit, a cell compiled without debug information).</summary>
    public const string DynamicModule = "dynamic module";

    /// <summary>The PDB has no visible sequence point at or before the IL offset (compiler-generated code).</summary>
    public const string NoSequencePoint = "no sequence point";

    /// <summary>
    /// The runtime gave no IL position for the return address: a dynamic method (DynamicMethod, expression trees),
    /// code it no longer knew when the frame was described, or an address its IL-to-native map does not cover.
    /// </summary>
    public const string NoIlOffset = "no IL offset";

    /// <summary>The marker a report shows in place of the file:line: "no line" or "no line: reason".</summary>
    public static string Marker(string? reason) => string.IsNullOrEmpty(reason) ? "no line" : "no line: " + reason;

    /// <summary>
    /// A frame's name with its location (<see cref="InlinedColumn.WithLocation"/>), or, for a frame with a
    /// <paramref name="noLine"/> reason and no file, with the marker: "name (no line: no PDB)".
    /// </summary>
    public static string WithLocation(string name, string? file, int line, string? noLine) =>
        file is null && noLine is not null ? $"{name} ({Marker(noLine)})" : InlinedColumn.WithLocation(name, file, line);
}
