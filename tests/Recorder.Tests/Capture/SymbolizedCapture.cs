using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Symbols;

namespace MemNotebook.Recorder.Tests.Capture;

/// <summary>
/// A whole capture as the reports see it: read (<see cref="CaptureData.Load(string, CaptureReaderOptions?)"/>), then its
/// frames named by the symbolizers (<see cref="CaptureSymbols"/>: ELF symbols, DWARF and PDB lines), as the Arrow
/// conversion and the stats compose the two.
/// </summary>
internal static class SymbolizedCapture
{
    public static CaptureData Load(string path)
    {
        var data = CaptureData.Load(path);
        CaptureSymbols.Resolve(data.ReadResult.Tables);
        return data;
    }

    public static CaptureData Load(Stream stream, string path)
    {
        var data = CaptureData.Load(stream, path);
        CaptureSymbols.Resolve(data.ReadResult.Tables);
        return data;
    }
}
