using Apache.Arrow;
using MemNotebook.Recorder.Arrow;
using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Tests.Capture;
using MemNotebook.Recorder.Reports;
using MemNotebook.Recorder.Stacks;
using MemNotebook.Recorder.Symbols;
using Xunit;
using Xunit.Abstractions;
using static MemNotebook.Recorder.Tests.Native.NativeTarget;

namespace MemNotebook.Recorder.Tests.Native;

// File:line and inlined frames of native frames from DWARF (libdw), on a traced run of the C test
// library (built with -g): expected lines are found by the marker comments of its source.
public class NativeSourceLineTests(ITestOutputHelper output)
{
    static readonly Lazy<(string Path, CaptureData Data, TimeSpan Symbolising)> Run = new(() =>
    {
        string capture = Profiler.TracedTarget.TempCapture("lines.memnb");
        Start("native-allocators", capture);
        var data = SymbolizedCapture.Load(capture);
        return (capture, data, NativeSymbolizer.LastDuration);
    });

    static string SourcePath
    {
        get
        {
            // artifacts/native-build/<config>/testnative/libmemnb_testnative.so → the repository root.
            var root = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(LibraryPath)!, "..", "..", "..", ".."));
            return Path.Combine(root, "native", "tests", "nativelib", "testnative.c");
        }
    }

    static int MarkerLine(string marker)
    {
        var lines = File.ReadAllLines(SourcePath);
        var found = Enumerable.Range(0, lines.Length).Where(i => lines[i].Contains($"/* line marker: {marker} */", StringComparison.Ordinal)).ToList();
        Assert.True(found.Count == 1, $"marker '{marker}' in {SourcePath}: {found.Count}");
        return found[0] + 1;
    }

    static int SingleRow(CaptureData data, long size) =>
        Assert.Single(Rows(data, r => data.Allocations.Size.Span[r] == size && Allocator(data, r) == "malloc"));

    static ulong InnermostIp(CaptureData data, int row) => data.StackFrames(data.Allocations.StackId.Span[row]).First().Ip;

    [Fact]
    public void A_c_frame_has_the_source_file_and_line_of_its_malloc_call()
    {
        Assert.True(DwarfLines.Available, "libdw.so.1 (elfutils) is not installed");
        var (_, data, symbolising) = Run.Value;
        NativeSymbolizer.Resolve(data.ReadResult.Tables); // again, with the files' tables cached
        output.WriteLine($"symbolising: {symbolising.TotalMilliseconds:F1} ms first, {NativeSymbolizer.LastDuration.TotalMilliseconds:F1} ms cached; "
            + $"{data.ReadResult.Tables.Sources.Count} of {data.ReadResult.Tables.StackNodes.Select(n => n.Ip).Distinct().Count()} ips with lines");
        var row = SingleRow(data, 1234);
        var ip = InnermostIp(data, row);
        Assert.Equal("memnb_test_chain_leaf", data.ReadResult.Tables.Frame(ip).Function);
        var source = Assert.Single(data.ReadResult.Tables.Source(ip));
        Assert.Null(source.Function);
        Assert.Equal(SourcePath, Path.GetFullPath(source.File!));
        Assert.Equal(MarkerLine("chain leaf malloc"), source.Line);
        // Every frame of the C chain has its line from DWARF; the C# frames of the test program theirs from its PDB.
        var stack = data.StackFrames(data.Allocations.StackId.Span[row]).ToList();
        Assert.All(stack.Take(3), f => Assert.EndsWith("testnative.c", data.ReadResult.Tables.Source(f.Ip)[^1].File));
        var caller = stack.First(f => f.Function == "MemNotebook.TestTarget.NativeScenarios.ManagedCaller");
        var callerSource = Assert.Single(data.ReadResult.Tables.Source(caller.Ip));
        Assert.EndsWith("NativeScenarios.cs", callerSource.File);
        Assert.Equal(TestTargetLine("NativeScenarios.cs", "free(outer(1233));"), callerSource.Line);
    }

    [Fact]
    public void An_always_inlined_function_is_an_inlined_frame_between_malloc_and_its_caller()
    {
        Assert.True(DwarfLines.Available, "libdw.so.1 (elfutils) is not installed");
        var (_, data, _) = Run.Value;
        var row = SingleRow(data, 3333);
        var ip = InnermostIp(data, row);
        var tables = data.ReadResult.Tables;
        Assert.Equal("memnb_test_inlined_outer", tables.Frame(ip).Function);
        // Innermost first: each inlined function at its line, the physical function at its call of the outermost.
        var source = tables.Source(ip);
        Assert.Equal(new[] { "inlined_alloc", "inlined_middle", null }, source.Select(f => f.Function));
        Assert.Equal(new[] { MarkerLine("inlined malloc"), MarkerLine("inlined middle call"), MarkerLine("inlined call") }, source.Select(f => f.Line));
        Assert.All(source, f => Assert.Equal(SourcePath, Path.GetFullPath(f.File!)));
        // Stacks as stats show them: the inlined frames, then their caller, then the C# caller.
        var names = StackFrames.Names(tables, data.Allocations.StackId.Span[row]).ToList();
        Assert.Equal(new[] { "inlined_alloc [inlined]", "inlined_middle [inlined]", "memnb_test_inlined_outer" }, names.Take(3));
        Assert.EndsWith("NativeScenarios.InlinedCaller", names[3]);
    }

    [Fact]
    public void The_frames_table_and_the_flame_tree_carry_file_line_and_inlined_frames()
    {
        Assert.True(DwarfLines.Available, "libdw.so.1 (elfutils) is not installed");
        var (path, data, _) = Run.Value;
        var capture = MemNotebook.Capture.Load(path);
        var frames = capture.ArrowTable(ArrowLayout.Frames);
        var ips = (UInt64Array)frames.Column("ip");
        var files = (StringArray)frames.Column("file");
        var lines = (Int32Array)frames.Column("line");
        var inlined = (StringArray)frames.Column("inlined");
        var functions = (StringArray)frames.Column("function");
        int RowOf(ulong ip) => Enumerable.Range(0, frames.Length).Single(i => ips.GetValue(i) == ip);

        var leaf = RowOf(InnermostIp(data, SingleRow(data, 1234)));
        Assert.Equal("memnb_test_chain_leaf", functions.GetString(leaf));
        Assert.Equal(SourcePath, Path.GetFullPath(files.GetString(leaf)));
        Assert.Equal(MarkerLine("chain leaf malloc"), lines.GetValue(leaf));
        Assert.True(inlined.IsNull(leaf));
        // The same columns in the frames DataFrame.
        var frameTable = capture.Frames;
        Assert.Equal(MarkerLine("chain leaf malloc"), (int?)frameTable.Columns["line"][leaf]);
        Assert.Equal(files.GetString(leaf), (string?)frameTable.Columns["file"][leaf]);

        var outerIp = InnermostIp(data, SingleRow(data, 3333));
        var outer = RowOf(outerIp);
        Assert.Equal(MarkerLine("inlined call"), lines.GetValue(outer));
        var decoded = InlinedColumn.Decode(inlined.GetString(outer));
        var file = data.ReadResult.Tables.Source(outerIp)[0].File;
        Assert.Equal(new[] { new SourceFrame("inlined_alloc", file, MarkerLine("inlined malloc")), new SourceFrame("inlined_middle", file, MarkerLine("inlined middle call")) },
            decoded);
        // A managed frame has no file or line.
        var managed = Enumerable.Range(0, frames.Length).First(i => ((StringArray)frames.Column("kind")).GetString(i) == "managed");
        Assert.True(files.IsNull(managed) && lines.IsNull(managed));

        // The stacks of the Arrow tables (Capture.Stats, notebooks) show the inlined frame too.
        var stackId = data.Allocations.StackId.Span[SingleRow(data, 3333)];
        Assert.Equal(new[] { "inlined_alloc [inlined]", "inlined_middle [inlined]", "memnb_test_inlined_outer" }, capture.Columns.FrameNames(stackId).Take(3));

        // Flame tree (inverted: allocating frames at the top): names with their file:line, the inlined frame first.
        var tree = FlameTree.Build(capture, new ReportSelection(ReportMode.Allocated), inverted: true);
        var top = tree.Root.Child($"inlined_alloc [inlined] (testnative.c:{MarkerLine("inlined malloc")})");
        Assert.NotNull(top);
        var middle = top!.Child($"inlined_middle [inlined] (testnative.c:{MarkerLine("inlined middle call")})");
        Assert.NotNull(middle);
        Assert.NotNull(middle!.Child($"memnb_test_inlined_outer (testnative.c:{MarkerLine("inlined call")})"));
        Assert.NotNull(tree.Root.Child($"memnb_test_chain_leaf (testnative.c:{MarkerLine("chain leaf malloc")})"));
    }

    [Fact]
    public void A_module_without_debug_info_keeps_its_elf_symbol_names()
    {
        var (_, data, _) = Run.Value;
        var rows = Rows(data, r => data.Allocations.Size.Span[r] == 4321).ToList();
        Assert.Equal(50, rows.Count);
        var ip = InnermostIp(data, rows[0]);
        Assert.Equal("memnb_plugin_allocate", data.ReadResult.Tables.Frame(ip).Function);
        Assert.Empty(data.ReadResult.Tables.Source(ip));
        // Its caller in the library with debug information has its line.
        var caller = data.StackFrames(data.Allocations.StackId.Span[rows[0]]).ElementAt(1);
        Assert.Equal("memnb_test_dlopen_plugin", caller.Function);
        Assert.EndsWith("testnative.c", data.ReadResult.Tables.Source(caller.Ip)[^1].File);
    }

    /// <summary>A file address in memnb_test_chain_leaf whose line is the marked malloc call.</summary>
    static ulong LeafMallocAddress(DwarfLines dwarf)
    {
        var symbols = ElfSymbolTable.Load(LibraryPath);
        var line = MarkerLine("chain leaf malloc");
        for (ulong a = 0x400; a < 0x100000; a++)
            if (symbols.FunctionAt(a) == "memnb_test_chain_leaf" && dwarf.Lookup(a) is [{ Function: null } own] && own.Line == line)
                return a;
        throw new InvalidOperationException("no address of the marked malloc call in memnb_test_chain_leaf");
    }

    [Fact]
    public void Lines_come_only_from_the_file_with_the_build_id_of_the_module_record()
    {
        Assert.True(DwarfLines.Available, "libdw.so.1 (elfutils) is not installed");
        using var dwarf = DwarfLines.Open(LibraryPath)!;
        Assert.Matches("^[0-9a-f]{40}$", dwarf.BuildId);
        var address = LeafMallocAddress(dwarf);
        const ulong Base = 0x4000_0000;
        foreach (var (buildId, expectLine) in new[] { (dwarf.BuildId, true), ("", true), ("00112233445566778899aabbccddeeff00112233", false) })
        {
            var w = new Tests.Capture.TestCaptureWriter(flags: CaptureFormat.FlagNative);
            w.Chunk(0).Clock(10, 100).Module(Base, 0x100000, LibraryPath, buildId).StackNode(1, 0, Base + address + 1)
                .Frame(Base + address + 1, 2, "").Write();
            var tables = Tests.Capture.RecordLog.Read(w.ToArray()).Result!.Tables;
            CaptureSymbols.Resolve(tables);
            Assert.Equal("memnb_test_chain_leaf", tables.Frame(Base + address + 1).Function);
            if (expectLine)
                Assert.Equal(MarkerLine("chain leaf malloc"), Assert.Single(tables.Source(Base + address + 1)).Line);
            else
                Assert.Empty(tables.Source(Base + address + 1));
        }
    }

    [Fact]
    public void Lines_are_read_from_a_separate_debug_file()
    {
        Assert.True(DwarfLines.Available, "libdw.so.1 (elfutils) is not installed");
        var folder = Directory.CreateTempSubdirectory("memnb-debuglink").FullName;
        try
        {
            // objcopy's split: the code without DWARF, pointing (.gnu_debuglink) at the .debug file beside it.
            var stripped = Path.Combine(folder, "libmemnb_testnative.so");
            var debug = Path.Combine(folder, "libmemnb_testnative.so.debug");
            Objcopy("--only-keep-debug", LibraryPath, debug);
            Objcopy("--strip-debug", $"--add-gnu-debuglink={debug}", LibraryPath, stripped);
            Assert.DoesNotContain(ElfSectionNames(stripped), n => n.StartsWith(".debug_", StringComparison.Ordinal));
            using var original = DwarfLines.Open(LibraryPath)!;
            var address = LeafMallocAddress(original);
            using var split = DwarfLines.Open(stripped)!;
            var own = Assert.Single(split.Lookup(address));
            Assert.Equal(MarkerLine("chain leaf malloc"), own.Line);
            Assert.Equal(SourcePath, Path.GetFullPath(own.File!));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    static void Objcopy(params string[] arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo("objcopy") { RedirectStandardError = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = System.Diagnostics.Process.Start(start)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"objcopy {string.Join(' ', arguments)}: {error}");
    }

    static IEnumerable<string> ElfSectionNames(string path)
    {
        var start = new System.Diagnostics.ProcessStartInfo("readelf", ["-S", "-W", path]) { RedirectStandardOutput = true };
        using var process = System.Diagnostics.Process.Start(start)!;
        var text = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return text.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(p => p.Length > 2 && p[0].StartsWith('[')).Select(p => p[0] == "[" ? p[2] : p[1]).ToList();
    }

    [Fact]
    public async Task Without_libdw_native_frames_keep_their_elf_symbol_names_and_the_report_says_so_once()
    {
        var (path, _, _) = Run.Value;
        // memnb in a process of its own, where MEMNB_LIBDW=0 stands for a machine without libdw.
        var cli = Path.Combine(AppContext.BaseDirectory, "memnb.dll");
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { cli, "stats", "--json", "--top", "1000", path })
            start.ArgumentList.Add(argument);
        start.Environment["MEMNB_LIBDW"] = "0";
        using var process = System.Diagnostics.Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var json = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        var errors = await stderr;
        Assert.True(process.ExitCode == 0, errors);
        Assert.Single(errors.Split('\n'), l => l.Contains("without file:line or inlined frames", StringComparison.Ordinal));
        Assert.Contains("\"memnb_test_chain_leaf\"", json);
        Assert.Contains("\"memnb_test_inlined_outer\"", json);
        Assert.DoesNotContain("[inlined]", json);
    }

    [Fact]
    public void The_speedscope_export_has_file_line_and_the_inlined_frames_in_order()
    {
        Assert.True(DwarfLines.Available, "libdw.so.1 (elfutils) is not installed");
        var (path, _, _) = Run.Value;
        var stream = new MemoryStream();
        Exports.SpeedscopeExport.Write(MemNotebook.Capture.Load(path), stream);
        using var json = System.Text.Json.JsonDocument.Parse(stream.ToArray());
        var frames = json.RootElement.GetProperty("shared").GetProperty("frames").EnumerateArray().ToList();
        int Frame(string name, string marker)
        {
            var index = frames.FindIndex(f => f.GetProperty("name").GetString() == name);
            Assert.True(index >= 0, name);
            Assert.Equal(SourcePath, Path.GetFullPath(frames[index].GetProperty("file").GetString()!));
            Assert.Equal(MarkerLine(marker), frames[index].GetProperty("line").GetInt32());
            return index;
        }
        var (alloc, middle, outer) = (Frame("inlined_alloc [inlined]", "inlined malloc"), Frame("inlined_middle [inlined]", "inlined middle call"),
            Frame("memnb_test_inlined_outer", "inlined call"));
        // The C# caller's file and line come from the test program's PDB.
        var caller = frames[frames.FindIndex(f => f.GetProperty("name").GetString()!.EndsWith("NativeScenarios.InlinedCaller", StringComparison.Ordinal))];
        Assert.EndsWith("NativeScenarios.cs", caller.GetProperty("file").GetString());
        Assert.True(caller.GetProperty("line").GetInt32() > 0);
        // Samples are root first: ... outer, middle, alloc at the end.
        var samples = json.RootElement.GetProperty("profiles")[0].GetProperty("samples").EnumerateArray()
            .Select(s => s.EnumerateArray().Select(f => f.GetInt32()).ToList()).ToList();
        Assert.Contains(samples, s => s.Count >= 3 && s[^1] == alloc && s[^2] == middle && s[^3] == outer);
    }

    /// <summary>The 1-based line of the only line of tests/TestTarget/<paramref name="file"/> containing <paramref name="text"/>.</summary>
    private static int TestTargetLine(string file, string text)
    {
        var path = "";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null && !File.Exists(path); dir = dir.Parent)
            path = Path.Combine(dir.FullName, "tests", "TestTarget", file);
        var lines = File.ReadAllLines(path);
        return Assert.Single(Enumerable.Range(0, lines.Length), i => lines[i].Contains(text, StringComparison.Ordinal)) + 1;
    }
}
