using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Tests.Capture;
using Xunit;

namespace MemNotebook.Recorder.Tests.Symbols;

/// <summary>MANAGED_MODULE, MODULE_SYMBOLS and IL_FRAME (header flag bit 3): reading and refusing bad records.</summary>
public class IlFrameReaderTests
{
    private static TestCaptureWriter Meta(int flags = CaptureFormat.FlagIlFrames)
    {
        var w = new TestCaptureWriter(flags: (ushort)flags);
        w.Chunk(0).Clock(10, 100).StackNode(1, 0, 0x10).Frame(0x10, 0, "App.Program.Main", "App.dll").Write();
        return w;
    }

    private static CaptureFormatException Reject(TestCaptureWriter w) =>
        Assert.Throws<CaptureFormatException>(() => RecordLog.Read(w.ToArray()));

    [Fact]
    public void Modules_symbols_and_il_frames_are_read()
    {
        var w = Meta();
        w.Chunk(0).ManagedModule(1, "/app/App.dll", "App.dll").ManagedModule(2, "", "cell")
            .ModuleSymbols(2, [1, 2, 3]).IlFrame(0x10, 1, 0x06000002, 17).Write();
        var tables = RecordLog.Read(w.ToArray()).Result!.Tables;
        Assert.Equal([(1, "/app/App.dll", "App.dll"), (2, "", "cell")], tables.ManagedModules.Select(m => (m.Index, m.Path, m.Name)));
        Assert.Equal([1, 2, 3], tables.ManagedModules[1].Symbols.ToArray());
        Assert.Equal(0, tables.ManagedModules[0].Symbols.Length);
        Assert.Equal(new IlFrameRecord(0x10, 1, 0x06000002, 17), tables.IlFrames[0x10]);
        // A module whose file is not there: the frame keeps its name and has no line.
        Assert.Empty(tables.Source(0x10));
        Assert.Equal("App.Program.Main", tables.Frame(0x10).Function);
    }

    [Fact]
    public void A_missing_or_foreign_pdb_leaves_the_frame_without_a_line()
    {
        // This test assembly's own file: its PDB is beside it, but token 0x06FFFFFF is no method of it; the
        // in-memory "PDB" of module 2 is not a PDB at all.
        var self = typeof(IlFrameReaderTests).Assembly.Location;
        var w = Meta();
        w.Chunk(0).StackNode(2, 1, 0x20).Frame(0x20, 0, "App.Program.Run", "cell")
            .ManagedModule(1, self, Path.GetFileName(self)).ManagedModule(2, "", "cell").ModuleSymbols(2, [0x42, 0x53, 0x4A, 0x42, 9, 9])
            .IlFrame(0x10, 1, 0x06FFFFFF, 0).IlFrame(0x20, 2, 0x06000001, 0).Write();
        var tables = RecordLog.Read(w.ToArray()).Result!.Tables;
        Assert.Empty(tables.Source(0x10));
        Assert.Empty(tables.Source(0x20));
    }

    private static readonly Dictionary<string, Action<TestCaptureWriter.ChunkBuilder>> Writes = new()
    {
        ["module out of order"] = c => c.ManagedModule(2, "", "x"),
        ["symbols of no module"] = c => c.ModuleSymbols(1, [1]),
        ["empty symbols"] = c => c.ManagedModule(1, "", "x").ModuleSymbols(1, []),
        ["il frame of no module"] = c => c.IlFrame(0x10, 3, 0x06000001, 0),
        ["token over 32 bits"] = c => c.ManagedModule(1, "", "x").IlFrame(0x10, 1, 1ul << 33, 0),
    };

    [Theory]
    [InlineData("module out of order", "managed module out of order: index 2, expected 1 (indexes are dense from 1)")]
    [InlineData("symbols of no module", "undefined managed module: MODULE_SYMBOLS names module 1, 0 are defined")]
    [InlineData("empty symbols", "bad symbols length: 0 bytes (1 to 16777216)")]
    [InlineData("il frame of no module", "undefined managed module: IL_FRAME of ip 0x10 names module 3, 0 are defined")]
    [InlineData("token over 32 bits", "bad method token: 0x200000000 does not fit in 32 bits")]
    public void Bad_records_are_refused_naming_the_problem(string what, string problem)
    {
        var w = Meta();
        var chunk = w.Chunk(0);
        Writes[what](chunk);
        chunk.Write();
        var error = Reject(w);
        Assert.True(error.Problem.StartsWith(problem, StringComparison.Ordinal), $"{what}: {error.Problem}");
    }

    [Fact]
    public void Il_records_need_header_flag_bit_3()
    {
        var w = Meta(flags: 0);
        w.Chunk(0).ManagedModule(1, "", "x").Write();
        Assert.StartsWith("MANAGED_MODULE in a capture without IL positions: header flag bit 3 is not set", Reject(w).Problem);
    }
}
