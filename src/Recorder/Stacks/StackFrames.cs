using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Symbols;

namespace MemNotebook.Recorder.Stacks;

/// <summary>
/// A frame as stacks show it: its name, and the file and line DWARF or the PDB gave (null and 0 without); for a managed
/// frame without them, why (<see cref="NoLine"/>; null otherwise).
/// </summary>
public readonly record struct ShownFrame(string Name, string? File, int Line, string? NoLine = null)
{
    /// <summary>
    /// The name with its location, as trees show it: "name (file.c:42)" (<see cref="InlinedColumn.WithLocation"/>), or
    /// "name (no line: no PDB)" (<see cref="Symbols.NoLine.WithLocation"/>); made once.
    /// </summary>
    public string NameWithLocation { get; } = NoLine is null ? InlinedColumn.WithLocation(Name, File, Line) : Symbols.NoLine.WithLocation(Name, File, Line, NoLine);
}

/// <summary>
/// The one place the frames of an address are listed, for every stack that is shown (stats' top stacks, flame trees,
/// speedscope): innermost first, the functions inlined at the address ("name [inlined]", <see cref="FrameNaming.Unknown"/>
/// for one DWARF does not name), then the address's own function — its shown name, else module+0xoffset when its
/// module is known, else 0xip.
/// </summary>
public static class StackFrames
{
    /// <summary>
    /// The frames of <paramref name="ip"/>: <paramref name="function"/> is its shown name ("" for none), <paramref name="source"/>
    /// its source frames as the symbolizers give them (inlined functions innermost first, then the ip's own frame with its
    /// file and line; empty without line information), <paramref name="noLine"/> why a managed frame has no line.
    /// </summary>
    public static ShownFrame[] OfAddress(ulong ip, string function, string module, ulong offset, IReadOnlyList<SourceFrame> source, string? noLine = null)
    {
        var own = function.Length > 0 ? function : FrameNaming.ModuleOffset(module, offset) ?? Unlisted(ip).Name;
        if (source.Count == 0)
            return [new ShownFrame(own, null, 0, noLine)];
        var frames = new ShownFrame[source.Count];
        for (var i = 0; i < source.Count - 1; i++)
            frames[i] = new ShownFrame(FrameNaming.Inlined(FrameNaming.OrUnknown(source[i].Function ?? "")), source[i].File, source[i].Line);
        frames[^1] = new ShownFrame(own, source[^1].File, source[^1].Line);
        return frames;
    }

    /// <summary>The one frame of an address no FRAME record names (nor the frames table lists): the address, 0xip.</summary>
    public static ShownFrame Unlisted(ulong ip) => new(FrameNaming.Address(ip), null, 0);

    /// <summary>The frames of <paramref name="ip"/> in a capture as the reader and the symbolizers left it (<see cref="OfAddress(ulong, string, string, ulong, IReadOnlyList{SourceFrame})"/>).</summary>
    public static ShownFrame[] OfAddress(CaptureTables tables, ulong ip)
    {
        var frame = tables.Frame(ip);
        return OfAddress(ip, FrameNaming.Shown(frame.Kind, frame.Function), frame.Module, frame.Offset, tables.Source(ip), tables.NoLineReason(ip));
    }

    /// <summary>
    /// The names of the frames of a stack, innermost first (<see cref="OfAddress(CaptureTables, ulong)"/>), without the
    /// entry stubs of a notebook cell the cell's code runs under (<see cref="ScriptPlumbing"/>), as the tables' stacks show them.
    /// </summary>
    public static string[] Names(CaptureTables tables, int stackId)
    {
        var names = new List<string>();
        var innermost = true;
        foreach (var ip in tables.StackIps(stackId))
        {
            var frame = tables.Frame(ip);
            if (!innermost && frame.Kind == FrameKind.Managed && ScriptPlumbing.IsEntryStub(frame.Function))
                continue;
            innermost = false;
            foreach (var shown in OfAddress(tables, ip))
                names.Add(shown.Name);
        }
        return names.ToArray();
    }
}
