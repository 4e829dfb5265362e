using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Tests.Capture;
using Xunit;

namespace MemNotebook.Recorder.Tests.Profiler;

// Stacks of optimized code: a warmed-up LINQ pipeline (tests/TestTarget "linq"), whose
// allocations alternate between stacks of different depths under the same callers. The
// target takes the runtime's own stack trace inside each lambda; every recorded stack that
// passes through that point must show the same frames, in the same order, none missing.
public class OptimizedStackTests
{
    static string[] Frames(CaptureData data, int row) =>
        data.StackFrames(data.Allocations.StackId.Span[row]).Select(f => f.Function).ToArray();

    // The recorded frames from the first one named `from` outward, or null if none is.
    static string[]? From(string[] frames, string from)
    {
        int at = Array.IndexOf(frames, from);
        return at < 0 ? null : frames[at..];
    }

    [Fact]
    public void Every_allocation_of_an_optimized_linq_pipeline_has_the_runtimes_frames_in_order()
    {
        string capture = TracedTarget.TempCapture("linq.memnb");
        var run = TracedTarget.Start("linq", capture);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Equal(200, run.Facts.GetProperty("groups").GetInt32());
        string[] select = run.Facts.GetProperty("select_trace").EnumerateArray().Select(e => e.GetString()!).ToArray();
        string[] group = run.Facts.GetProperty("group_trace").EnumerateArray().Select(e => e.GetString()!).ToArray();
        // What the runtime itself sees (the lambda, the iterator, the pipeline, Main).
        Assert.StartsWith("MemNotebook.TestTarget.Scenarios+<>c__DisplayClass", select[0]);
        Assert.Contains("System.Linq.Enumerable+RangeSelectIterator`2.ToList", select);
        Assert.Equal("System.Linq.Lookup`2.Create", group[1]);
        Assert.Contains("System.Linq.Enumerable+OrderedIterator`1.ToList", group);
        Assert.Equal(
            new[] { "MemNotebook.TestTarget.Scenarios.LinqPipeline", "MemNotebook.TestTarget.Scenarios.Linq", "MemNotebook.TestTarget.Scenarios.Main" },
            select[^3..]);

        var data = SymbolizedCapture.Load(capture);
        var types = data.Allocations.TypeIndex.Span;
        int orders = 0, strings = 0, inLookup = 0;
        for (int r = 0; r < data.Allocations.Count; r++)
        {
            string type = data.TypeName(types[r]);
            string[] frames = Frames(data, r);
            if (type == "MemNotebook.TestTarget.Order")
            {
                // Allocated by the lambda itself: the whole stack is the runtime's.
                Assert.Equal(select, frames);
                orders++;
                continue;
            }
            if (From(frames, select[0]) is { } outer)
            {
                // The customer string and anything else the lambda allocates below itself.
                Assert.Equal(select, outer);
                if (type == "System.String") strings++;
            }
            if (From(frames, group[1]) is { } lookup)
            {
                // The groupings and their growing arrays, made by Lookup.Create.
                Assert.Equal(group[1..], lookup);
                inLookup++;
            }
        }
        Assert.Equal(20_000, orders);
        Assert.True(strings >= 20_000, $"{strings} strings under the select lambda");
        Assert.True(inLookup >= 200, $"{inLookup} allocations under Lookup.Create");
    }
}
