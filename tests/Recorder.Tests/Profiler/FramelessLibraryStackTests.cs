using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Symbols;
using MemNotebook.Recorder.Tests.Capture;
using Xunit;

namespace MemNotebook.Recorder.Tests.Profiler;

// Stacks through managed code that keeps no RBP frame (tests/TestTarget "frameless-library-call", "frameless-jit-call"):
// a frame-pointer walk passes over such a method's caller, the walker reads that return address from the method's frame,
// whose size the image's unwind data gives for ReadyToRun code (native/src/stacks/r2r_unwind.h), the prolog for
// JIT-compiled code (stacks/frame_walker.h).
public class FramelessLibraryStackTests
{
    [Fact]
    public void The_caller_of_a_frameless_readytorun_method_is_on_the_stacks_of_its_allocations()
    {
        string capture = TracedTarget.TempCapture("frameless.memnb");
        var run = TracedTarget.Start("frameless-library-call", capture);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Equal(100, run.Facts.GetProperty("kept").GetInt32());
        Assert.Equal("150", run.Facts.GetProperty("first").GetString());

        var stacks = ManagedStacks(capture, "System.String");
        // One string per number, each made by the runtime's cache of small numbers' strings (its array was made
        // before the recording) below the user's method that asked for it.
        Assert.Equal(100, stacks.Count);
        string[] expected =
        [
            "System.Number.UInt32ToDecStr_NoSmallNumberCheck",
            "System.Number.UInt32ToDecStrForKnownSmallNumber › CreateAndCacheString",
            "MemNotebook.TestTarget.Scenarios.NumbersToStrings",
            "MemNotebook.TestTarget.Scenarios.FramelessLibraryCall",
            "MemNotebook.TestTarget.Scenarios.Main",
        ];
        foreach (var frames in stacks) Assert.Equal(expected, frames);
    }

    [Fact]
    public void The_callers_of_frameless_jit_compiled_methods_are_on_the_stacks_of_their_allocations()
    {
        string capture = TracedTarget.TempCapture("frameless-jit.memnb");
        var run = TracedTarget.Start("frameless-jit-call", capture);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Equal(100, run.Facts.GetProperty("kept").GetInt32());

        var stacks = ManagedStacks(capture, "System.Int32[]");
        // The leaf and the method between it and the loop keep no RBP frame: the walker reads their callers'
        // return addresses from their frames, whose sizes their prologs give.
        Assert.Equal(100, stacks.Count);
        string[] expected =
        [
            "MemNotebook.TestTarget.Scenarios.FramelessJitLeaf",
            "MemNotebook.TestTarget.Scenarios.FramelessJitMiddle",
            "MemNotebook.TestTarget.Scenarios.FramelessJitLoop",
            "MemNotebook.TestTarget.Scenarios.FramelessJitCall",
            "MemNotebook.TestTarget.Scenarios.Main",
        ];
        foreach (var frames in stacks) Assert.Equal(expected, frames);
    }

    // The managed frames of each allocation of a type, innermost first, as reports name them.
    static List<string[]> ManagedStacks(string capture, string type)
    {
        var data = SymbolizedCapture.Load(capture);
        var types = data.Allocations.TypeIndex.Span;
        var stacks = new List<string[]>();
        for (int r = 0; r < data.Allocations.Count; r++)
        {
            if (data.TypeName(types[r]) != type)
                continue;
            stacks.Add(data.StackFrames(data.Allocations.StackId.Span[r])
                .Where(f => f.Kind == FrameKind.Managed).Select(f => FrameNaming.Readable(f.Function)).ToArray());
        }
        return stacks;
    }
}
