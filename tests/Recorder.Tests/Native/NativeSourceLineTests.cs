using Apache.Arrow;
using MemNotebook.Recorder.Arrow;
using MemNotebook.Recorder.Capture;
using MemNotebook.Recorder.Reports;
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
        var data = CaptureData.Load(capture);
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
        // Every frame of the C chain has its line; the C# frames have none.
        var stack = data.StackFrames(data.Allocations.StackId.Span[row]).ToList();
        Assert.All(stack.Take(3), f => Assert.EndsWith("testnative.c", data.ReadResult.Tables.Source(f.Ip)[^1].File));
        Assert.All(stack.Where(f => f.Kind == FrameKind.Managed), f => Assert.Empty(data.ReadResult.Tables.Source(f.Ip)));
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
        var source = tables.Source(ip);
        Assert.Equal(2, source.Count);
        Assert.Equal("inlined_alloc", source[0].Function);
        Assert.Equal(SourcePath, Path.GetFullPath(source[0].File!));
        Assert.Equal(MarkerLine("inlined malloc"), source[0].Line);
        Assert.Null(source[1].Function);
        Assert.Equal(SourcePath, Path.GetFullPath(source[1].File!));
        Assert.Equal(MarkerLine("inlined call"), source[1].Line);
        // Stacks as stats show them: the inlined frame, then its caller, then the C# caller.
        var names = tables.StackIps(data.Allocations.StackId.Span[row]).SelectMany(tables.ShownNames).ToList();
        Assert.Equal(new[] { "inlined_alloc [inlined]", "memnb_test_inlined_outer" }, names.Take(2));
        Assert.EndsWith("NativeScenarios.InlinedCaller", names[2]);
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

        var outerIp = InnermostIp(data, SingleRow(data, 3333));
        var outer = RowOf(outerIp);
        Assert.Equal(MarkerLine("inlined call"), lines.GetValue(outer));
        var decoded = InlinedColumn.Decode(inlined.GetString(outer));
        Assert.Equal(new SourceFrame("inlined_alloc", data.ReadResult.Tables.Source(outerIp)[0].File, MarkerLine("inlined malloc")), Assert.Single(decoded));
        // A managed frame has no file or line.
        var managed = Enumerable.Range(0, frames.Length).First(i => ((StringArray)frames.Column("kind")).GetString(i) == "managed");
        Assert.True(files.IsNull(managed) && lines.IsNull(managed));

        // The stacks of the Arrow tables (Capture.Stats, notebooks) show the inlined frame too.
        var stackId = data.Allocations.StackId.Span[SingleRow(data, 3333)];
        Assert.Equal(new[] { "inlined_alloc [inlined]", "memnb_test_inlined_outer" }, capture.Columns.FrameNames(stackId).Take(2));

        // Flame tree (inverted: allocating frames at the top): names with their file:line, the inlined frame first.
        var tree = FlameTree.Build(capture, new ReportSelection(ReportMode.Allocated), inverted: true);
        var top = tree.Root.Child($"inlined_alloc [inlined] (testnative.c:{MarkerLine("inlined malloc")})");
        Assert.NotNull(top);
        Assert.NotNull(top!.Child($"memnb_test_inlined_outer (testnative.c:{MarkerLine("inlined call")})"));
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
}
