using MemNotebook.Recorder.Format;

namespace MemNotebook.Recorder.Symbols;

/// <summary>
/// Source lines and inlined frames of a capture read by <see cref="CaptureReader"/>: the reader only reads the file,
/// and whoever shows names composes it with this — native frames from the ELF symbol tables and DWARF
/// (<see cref="NativeSymbolizer"/>), managed ones from the modules' portable PDBs (<see cref="ManagedSymbolizer"/>),
/// both into <see cref="CaptureTables.Sources"/>.
/// </summary>
public static class CaptureSymbols
{
    /// <summary>Symbolizes the frames of <paramref name="tables"/> (once: a second call finds them done and adds nothing).</summary>
    public static void Resolve(CaptureTables tables)
    {
        NativeSymbolizer.Resolve(tables);
        ManagedSymbolizer.Resolve(tables);
    }

    /// <summary>Reads a capture (<see cref="CaptureReader.Read(string, CaptureVisitor, CaptureReaderOptions?)"/>), then symbolizes its frames.</summary>
    public static CaptureReadResult Read(string path, CaptureVisitor visitor, CaptureReaderOptions? options = null)
    {
        var read = CaptureReader.Read(path, visitor, options);
        Resolve(read.Tables);
        return read;
    }
}
