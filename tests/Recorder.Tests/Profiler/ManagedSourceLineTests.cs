using MemNotebook.Recorder.Capture;
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
        var data = CaptureData.Load(capture);
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
    }
}
