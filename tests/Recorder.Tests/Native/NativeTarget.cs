using System.Reflection;
using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Tests.Profiler;
using Xunit;

namespace MemNotebook.Recorder.Tests.Native;

/// <summary>Runs a native scenario of tests/TestTarget traced, with the C test library's path.</summary>
internal static class NativeTarget
{
    public static string LibraryPath =>
        typeof(NativeTarget).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "TestNativePath").Value!;

    public static TracedTarget.Run Start(string scenario, string capture, bool withTracer = true)
    {
        Assert.True(File.Exists(LibraryPath), $"C test library missing: {LibraryPath}");
        var run = TracedTarget.Start(scenario, capture, new Dictionary<string, string> { ["MEMNB_TESTNATIVE_PATH"] = LibraryPath },
            withTracer);
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.Stderr}");
        return run;
    }

    /// <summary>Function names of a row's stack, innermost first.</summary>
    public static List<string> Functions(CaptureData data, int row) =>
        data.StackFrames(data.Allocations.StackId.Span[row]).Select(f => f.Function).ToList();

    public static IEnumerable<int> Rows(CaptureData data, Func<int, bool> where) =>
        Enumerable.Range(0, data.Allocations.Count).Where(where);

    public static string Allocator(CaptureData data, int row) =>
        CaptureFormat.AllocatorName(Math.Max(0, -data.Allocations.TypeIndex.Span[row]));
}
