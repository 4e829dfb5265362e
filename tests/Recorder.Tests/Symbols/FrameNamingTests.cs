using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Symbols;
using Xunit;

namespace MemNotebook.Recorder.Tests.Symbols;

public class FrameNamingTests
{
    [Theory]
    // Lambdas: display classes and the lambda cache class are hidden.
    [InlineData("App.Program+<>c.<Main>b__0_0", "lambda in App.Program.Main")]
    [InlineData("App.Program+<>c__DisplayClass3_0.<Work>b__0", "lambda in App.Program.Work")]
    // Local functions, also in top-level statements and lambdas.
    [InlineData("App.Program.<Work>g__Helper|3_0", "App.Program.Work › Helper")]
    [InlineData("Program.<<Main>$>g__Work|0_0", "Program.Main › Work")]
    [InlineData("Program.<Main>$", "Program.Main")]
    [InlineData("App.Program+<>c.<<Work>g__Helper|3_0>b__3_1", "lambda in App.Program.Work › Helper")]
    // State machines: their method.
    [InlineData("App.Program+<Work>d__3.MoveNext", "App.Program.Work (async)")]
    [InlineData("App.Program+<>c+<<Main>b__0_0>d.MoveNext", "lambda in App.Program.Main (async)")]
    [InlineData("App.Program+<Items>d__4.System.IDisposable.Dispose", "App.Program.Items › Dispose (async)")]
    // Generic arity, nested types, constructors.
    [InlineData("System.Collections.Generic.List`1.set_Capacity", "System.Collections.Generic.List<T>.set_Capacity")]
    [InlineData("System.Collections.Generic.Dictionary`2+Enumerator.MoveNext", "System.Collections.Generic.Dictionary<T1,T2>.Enumerator.MoveNext")]
    [InlineData("App.Outer+Inner..ctor", "App.Outer.Inner..ctor")]
    [InlineData("System.Linq.Enumerable+SelectListIterator`2.ToList", "System.Linq.Enumerable.SelectListIterator<T1,T2>.ToList")]
    // Notebook cells (script submissions).
    [InlineData("Submission#5+<>c__DisplayClass3_0.<Work>b__0", "lambda in cell 5 › Work")]
    [InlineData("Submission#5+<<Initialize>>d__0.MoveNext", "cell 5")]
    [InlineData("Submission#5.Work", "cell 5 › Work")]
    [InlineData("Submission#5+<>c.<<Initialize>>b__0_0", "lambda in cell 5")]
    [InlineData("Submission#12+Order..ctor", "cell 12 › Order..ctor")]
    [InlineData("Submission#5+<Fill>d__2.MoveNext", "cell 5 › Fill (async)")]
    [InlineData("Submission#5+Order+<>c.<Total>b__1_0", "lambda in cell 5 › Order.Total")]
    // Names without generated parts, arity or nesting come back as they are.
    [InlineData("App.Program.Main", "App.Program.Main")]
    [InlineData("System.String.Ctor", "System.String.Ctor")]
    [InlineData("System.GC.AllocateUninitializedArray[System.Byte]", "System.GC.AllocateUninitializedArray[System.Byte]")]
    [InlineData("App.C.System.Collections.Generic.IEnumerable<T>.GetEnumerator", "App.C.System.Collections.Generic.IEnumerable<T>.GetEnumerator")]
    // Names it cannot take apart are kept.
    [InlineData("Weird<Name", "Weird<Name")]
    [InlineData("<Module>", "<Module>")]
    [InlineData("A.B`x.M", "A.B`x.M")]
    [InlineData("App.Program.<Work>q__1", "App.Program.<Work>q__1")]
    [InlineData("", "")]
    public void Readable_names_a_managed_function_as_the_code_was_written(string raw, string expected)
    {
        Assert.Equal(expected, FrameNaming.Readable(raw));
    }

    [Fact]
    public void Native_frames_keep_their_symbol_names()
    {
        Assert.Equal("std::vector<int, std::allocator<int> >::push_back",
            FrameNaming.Shown(FrameKind.Native, "std::vector<int, std::allocator<int> >::push_back"));
        Assert.Equal("lambda in App.Program.Main", FrameNaming.Shown(FrameKind.Managed, "App.Program+<>c.<Main>b__0_0"));
    }

    [Theory]
    [InlineData("cell 5", 5)]
    [InlineData("cell 5 › Work", 5)]
    [InlineData("lambda in cell 12 › Work (cell12.csx:3)", 12)]
    [InlineData("cell 7 (async)", 7)]
    [InlineData("Submission#3+<<Initialize>>d__0.MoveNext", 3)]
    [InlineData("Submission#3.Work", 3)]
    [InlineData("cellar.Main", null)]
    [InlineData("cell x", null)]
    [InlineData("cell 5x", null)]
    [InlineData("App.Program.Main", null)]
    [InlineData("Submission#", null)]
    public void CellOf_reads_the_cell_of_a_shown_or_recorded_name(string function, int? cell)
    {
        Assert.Equal(cell, FrameNaming.CellOf(function));
    }
}
