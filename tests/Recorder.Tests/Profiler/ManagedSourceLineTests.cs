using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Tests.Capture;
using Xunit;
using Xunit.Abstractions;

namespace MemNotebook.Recorder.Tests.Profiler;

/// <summary>
/// File and line of managed frames: the tracer records each frame's IL offset (IL_FRAME), Recorder reads the line
/// from the assembly's portable PDB. Lines are checked against tests/TestTarget/Program.cs itself.
/// </summary>
public class ManagedSourceLineTests(ITestOutputHelper output)
{
    private static string TestTargetSource()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "TestTarget", "Program.cs");
            if (File.Exists(candidate))
                return candidate;
        }
        throw new FileNotFoundException("tests/TestTarget/Program.cs above " + AppContext.BaseDirectory);
    }

    /// <summary>The 1-based line of the only line of the file that contains <paramref name="text"/>.</summary>
    private static int LineOf(string file, string text)
    {
        var lines = File.ReadAllLines(file);
        var found = Enumerable.Range(0, lines.Length).Where(i => lines[i].Contains(text, StringComparison.Ordinal)).ToArray();
        return Assert.Single(found) + 1;
    }

    [Fact]
    public void Managed_frames_of_the_test_program_get_the_file_and_line_of_their_calls()
    {
        var capture = TracedTarget.TempCapture("lines.memnb");
        var run = TracedTarget.Start("bytes", capture);
        Assert.True(run.ExitCode == 0, run.Stderr);
        var source = TestTargetSource();
        var data = SymbolizedCapture.Load(capture);
        var tables = data.ReadResult.Tables;
        Assert.NotEqual(0, data.ReadResult.Header.Flags & CaptureFormat.FlagIlFrames);

        var stack = data.Allocations.StackId.Span[0];
        var frames = tables.StackIps(stack).Select(ip => (Ip: ip, Frame: tables.Frame(ip))).Where(f => f.Frame.Kind == FrameKind.Managed).ToArray();
        var fill = frames.First(f => f.Frame.Function == "MemNotebook.TestTarget.Scenarios.FillBytes");
        var caller = frames.First(f => f.Frame.Function == "MemNotebook.TestTarget.Scenarios.Bytes");
        var fillLine = Assert.Single(tables.Source(fill.Ip));
        Assert.Equal(Path.GetFullPath(source), Path.GetFullPath(fillLine.File!));
        Assert.Equal(LineOf(source, "for (int i = 0; i < roots.Length; i++) roots[i] = new byte[4096];"), fillLine.Line);
        // The caller's frame is in optimized code, whose IL map has a position per statement of the JIT, not per
        // source line: the call of FillBytes maps to the JIT statement that starts on the line before it.
        var callerLine = Assert.Single(tables.Source(caller.Ip));
        Assert.Equal(LineOf(source, "long allocated = FillBytes(roots);") - 1, callerLine.Line);

        // Every managed frame of the program's own assembly has a line; the share over all managed frames is reported.
        var managed = tables.StackNodes.Select(n => n.Ip).Distinct().Where(ip => tables.Frame(ip).Kind == FrameKind.Managed).ToArray();
        var own = managed.Where(ip => tables.Frame(ip).Module == "MemNotebook.TestTarget.dll").ToArray();
        var ownWithLines = own.Count(ip => tables.Source(ip).Count > 0);
        Assert.NotEmpty(own);
        output.WriteLine($"MemNotebook.TestTarget.dll frames with a line: {ownWithLines} of {own.Length}; all managed frames: {managed.Count(ip => tables.Source(ip).Count > 0)} of {managed.Length}");
        Assert.Equal(own.Length, ownWithLines);

        // Every managed frame has a line or says why not, never both.
        Assert.All(managed, ip => Assert.True(tables.Source(ip).Count > 0 ^ tables.NoLineReason(ip) is not null, tables.Frame(ip).Function));
    }

    [Fact]
    public void A_call_that_the_optimized_codes_map_counts_in_the_prolog_gets_the_line_of_the_first_statement()
    {
        var capture = TracedTarget.TempCapture("prolog.memnb");
        var run = TracedTarget.Start("prolog-call", capture);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Equal(100, run.Facts.GetProperty("kept").GetInt32());
        var source = TestTargetSource();
        var data = SymbolizedCapture.Load(capture);
        var tables = data.ReadResult.Tables;

        // The lines (or reasons for none) of the frames of a method on the stacks of the allocations of a type; with
        // innermost, only of the allocations the method made itself (the call of i.ToString() also makes the string[]
        // of the runtime's cache of small numbers' strings).
        HashSet<(int Line, string? NoLine)> Lines(string type, string function, bool innermost = false)
        {
            var found = new HashSet<(int, string?)>();
            for (var row = 0; row < data.Allocations.Count; row++)
            {
                if (data.TypeName(data.Allocations.TypeIndex.Span[row]) != type)
                    continue;
                var managed = tables.StackIps(data.Allocations.StackId.Span[row]).Where(ip => tables.Frame(ip).Kind == FrameKind.Managed);
                foreach (var ip in (innermost ? managed.Take(1) : managed).Where(ip => tables.Frame(ip).Function == function))
                {
                    var lines = tables.Source(ip);
                    found.Add((lines.Count == 1 ? lines[0].Line : 0, tables.NoLineReason(ip)));
                }
            }
            return found;
        }

        // The allocation's return address is inside the map's prolog entry: IL offset 0, the first statement's line
        // (before, these frames had no IL offset and no line).
        var first = "MemNotebook.TestTarget.Scenarios.FirstStatementAllocates";
        Assert.Equal([(LineOf(source, "string[] items = new string[n];"), null)], Lines("System.String[]", first, innermost: true));
        Assert.Equal([(LineOf(source, "for (int i = 0; i < n; i++) items[i] = i.ToString();"), null)], Lines("System.String", first));
        var shared = "MemNotebook.TestTarget.Scenarios.FirstStatementAllocatesShared";
        Assert.Equal([(LineOf(source, "var list = new List<T>(4);"), null)], Lines("System.Collections.Generic.List<System.String>", shared));
        Assert.Equal([(LineOf(source, "var list = new List<T>(4);"), null)], Lines("System.String[]", shared));
    }

    [Fact]
    public void Frames_of_a_script_submission_get_the_line_within_the_cell_from_the_pdb_it_was_loaded_with()
    {
        var capture = TracedTarget.TempCapture("cell-lines.memnb");
        var run = TracedTarget.Start("script", capture);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Equal(200 * 4, run.Facts.GetProperty("count").GetInt32());
        var data = SymbolizedCapture.Load(capture);
        var tables = data.ReadResult.Tables;

        // The cell's module was loaded from memory with its PDB: the capture carries the PDB.
        var cellModules = tables.ManagedModules.Where(m => m.Path.Length == 0 && m.Symbols.Length > 0).ToArray();
        Assert.NotEmpty(cellModules);

        // The innermost frame of the cell's code of each allocation, by type.
        (string Function, int Line) CellFrame(int row)
        {
            var ip = tables.StackIps(data.Allocations.StackId.Span[row]).First(ip => tables.Frame(ip).Function.StartsWith("Submission#1", StringComparison.Ordinal));
            var source = tables.Source(ip);
            return (MemNotebook.Recorder.Symbols.FrameNaming.Readable(tables.Frame(ip).Function), source.Count == 1 ? source[0].Line : 0);
        }
        var byType = new Dictionary<string, HashSet<(string, int)>>();
        for (var row = 0; row < data.Allocations.Count; row++)
        {
            var type = data.TypeName(data.Allocations.TypeIndex.Span[row]);
            if (type is "System.Byte[]" or "System.Int32[]" or "System.Text.StringBuilder" or "System.String")
            {
                if (!byType.TryGetValue(type, out var set))
                    byType[type] = set = new();
                set.Add(CellFrame(row));
            }
        }
        Assert.Contains(("cell 1", 5), byType["System.Byte[]"]);
        Assert.Equal([("cell 1 › Grow", 2)], byType["System.Int32[]"]);
        Assert.Contains(("cell 1 › Make", 10), byType["System.Text.StringBuilder"]);
        Assert.Contains(("lambda in cell 1", 8), byType["System.String"]);

        // The share of the cell's frames with a line: all but the script's entry stubs <Factory> and <Initialize>,
        // compiler-generated methods without a sequence point (the cell's code runs in <Initialize>'s state machine).
        var cellIps = tables.StackNodes.Select(n => n.Ip).Distinct()
            .Where(ip => tables.Frame(ip).Kind == FrameKind.Managed && tables.Frame(ip).Function.StartsWith("Submission#", StringComparison.Ordinal)).ToArray();
        string[] stubs = ["Submission#1.<Factory>", "Submission#1.<Initialize>"];
        var withLines = cellIps.Count(ip => tables.Source(ip).Count > 0);
        var code = cellIps.Where(ip => !stubs.Contains(tables.Frame(ip).Function)).ToArray();
        output.WriteLine($"cell frames with a line: {withLines} of {cellIps.Length}; of the frames of methods with code: {code.Count(ip => tables.Source(ip).Count > 0)} of {code.Length}");
        Assert.All(cellIps.Except(code), ip => Assert.Empty(tables.Source(ip)));
        Assert.All(code, ip => Assert.Single(tables.Source(ip)));
        Assert.True(code.Length >= 10, $"{code.Length} frames of the cell's code");

        // The frames without a line are Roslyn's entry stubs, without a sequence point; stacks leave them out, so every
        // frame of the cell a flame graph shows has its line.
        Assert.All(cellIps.Except(code), ip => Assert.Equal(MemNotebook.Recorder.Symbols.NoLine.NoSequencePoint, tables.NoLineReason(ip)));
        Assert.All(cellIps, ip => Assert.Equal(stubs.Contains(tables.Frame(ip).Function), MemNotebook.Recorder.Symbols.ScriptPlumbing.IsEntryStub(tables.Frame(ip).Function)));
        var tree = MemNotebook.Recorder.Reports.FlameTree.Build(MemNotebook.Capture.Load(capture),
            new MemNotebook.Recorder.Reports.ReportSelection(MemNotebook.Recorder.Reports.ReportMode.Allocated));
        var nodes = new List<MemNotebook.Recorder.Reports.FlameNode>();
        void Walk(MemNotebook.Recorder.Reports.FlameNode node)
        {
            foreach (var child in node.Children)
            {
                nodes.Add(child);
                Walk(child);
            }
        }
        Walk(tree.Root);
        var cellNodes = nodes.Where(n => MemNotebook.Capture.SubmissionOf(n.Name) == 1).ToArray();
        var located = cellNodes.Where(n => System.Text.RegularExpressions.Regex.IsMatch(n.Name, @" \(line \d+\)$")).ToArray();
        // The others are the stubs' own allocations (the submission object <Factory> creates, the state machine of
        // <Initialize> in this debug-compiled cell): leaves, with the marker, nothing of the cell's code under them.
        var stubLeaves = cellNodes.Except(located).ToArray();
        output.WriteLine($"flame graph nodes of the cell's code with a line: {located.Length} of {cellNodes.Length - stubLeaves.Length}; the stubs' own allocations: {stubLeaves.Length} nodes, {stubLeaves.Sum(n => n.Count)} allocations");
        Assert.Equal(["cell 1 (no line: no sequence point)", "cell 1 › Factory (no line: no sequence point)"],
            stubLeaves.Select(n => n.Name).Order(StringComparer.Ordinal));
        Assert.All(stubLeaves, n => Assert.Equal((0, 1L), (n.Children.Count, n.Count)));
        Assert.Subset(located.Select(n => n.Name).ToHashSet(), new HashSet<string> { "cell 1 (line 5)", "cell 1 › Grow (line 2)", "cell 1 › Make (line 10)", "lambda in cell 1 (line 8)" });

        // Every managed frame has a line or says why not, never both; the .NET libraries' frames without a line lack their PDB.
        var managed = tables.StackNodes.Select(n => n.Ip).Distinct().Where(ip => tables.Frame(ip).Kind == FrameKind.Managed).ToArray();
        Assert.All(managed, ip => Assert.True(tables.Source(ip).Count > 0 ^ tables.NoLineReason(ip) is not null, tables.Frame(ip).Function));
        var coreLib = managed.Where(ip => tables.Frame(ip).Module == "System.Private.CoreLib.dll" && tables.Source(ip).Count == 0).ToArray();
        Assert.NotEmpty(coreLib); // AsyncMethodBuilderCore.Start, under the cell's code
        if (!File.Exists(Path.ChangeExtension(typeof(object).Assembly.Location, ".pdb")))
            Assert.All(coreLib, ip => Assert.Equal(MemNotebook.Recorder.Symbols.NoLine.NoPdb, tables.NoLineReason(ip)));
        var reasons = managed.Select(tables.NoLineReason).OfType<string>().GroupBy(r => r).OrderBy(g => g.Key, StringComparer.Ordinal);
        output.WriteLine($"managed frames: {managed.Length}, with a line {managed.Count(ip => tables.Source(ip).Count > 0)}; without: "
            + string.Join(", ", reasons.Select(g => $"{g.Key} {g.Count()}")));
    }
}
