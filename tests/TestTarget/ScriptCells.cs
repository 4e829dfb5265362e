using MemNotebook.Recorder.Tracing;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Scripting;

namespace MemNotebook.TestTarget;

/// <summary>
/// Notebook-like cells: C# script submissions compiled by Roslyn scripting with debug information, as the notebook
/// kernel compiles its cells (each a Submission#N class in an assembly loaded from memory with its portable PDB).
/// The second cell is recorded; its code allocates from its top level, a method, a local function and a lambda.
/// </summary>
public static class ScriptCells
{
    // The recorded cell; "// line N" marks what the test expects at each allocation's frame.
    public const string Cell =
        "var keep = new List<object>();\n" +                                        // line 1
        "int[] Grow(int n) { return new int[n]; }\n" +                              // line 2
        "for (var i = 0; i < 200; i++)\n" +                                         // line 3
        "{\n" +                                                                     // line 4
        "    keep.Add(new byte[100]);\n" +                                          // line 5
        "    keep.Add(Grow(i + 1));\n" +                                            // line 6
        "    keep.Add(Make(i));\n" +                                                // line 7
        "    keep.Add(Enumerable.Range(0, 3).Select(x => new string('x', x + i)).ToList());\n" + // line 8
        "}\n" +                                                                     // line 9
        "static object Make(int i) => new System.Text.StringBuilder(i + 16);\n" +   // line 10
        "keep.Count";                                                               // line 11

    public static void Run(string capture, Dictionary<string, object?> facts)
    {
        var options = ScriptOptions.Default.WithEmitDebugInformation(true)
            .WithImports("System", "System.Linq", "System.Collections.Generic")
            .AddReferences(typeof(Enumerable).Assembly, typeof(System.Text.StringBuilder).Assembly);
        var state = CSharpScript.RunAsync("var warm = 1;", options).GetAwaiter().GetResult();
        var next = state.Script.ContinueWith(Cell, options);
        next.Compile();
        var tracker = Tracker.Start(capture, new TrackerOptions { CollectBeforeStop = false, Overwrite = true });
        var result = next.RunFromAsync(state).GetAwaiter().GetResult();
        tracker.Stop();
        facts["count"] = result.ReturnValue;
    }

    /// <summary>
    /// Three recorded cells in one capture: the first keeps its arrays, the second's die in the GC it induces (its own
    /// peak before the end), the third calls the second's function and keeps strings made by a lambda.
    /// </summary>
    public static readonly string[] Cells =
    [
        "var kept = new List<byte[]>();\n" +
        "for (var i = 0; i < 300; i++) kept.Add(new byte[64]);",
        // The arrays are held in Churn's frame only, gone when the GC starts (a local of the cell's own code would
        // stay reachable from the cell's frame).
        "static int[] Grow(int n) => new int[n];\n" +
        "static int Churn() { var temporary = new List<int[]>(); for (var i = 0; i < 500; i++) temporary.Add(Grow(i + 1)); return temporary.Count; }\n" +
        "Churn();\n" +
        "GC.Collect();",
        "var more = Enumerable.Range(0, 250).Select(i => new string('y', i + 1)).ToList();\n" +
        "var grown = Grow(1000);\n" +
        "kept.Count + more.Count + grown.Length",
    ];

    public static void RunSeveral(string capture, Dictionary<string, object?> facts)
    {
        var options = ScriptOptions.Default.WithEmitDebugInformation(true)
            .WithImports("System", "System.Linq", "System.Collections.Generic")
            .AddReferences(typeof(Enumerable).Assembly, typeof(System.Text.StringBuilder).Assembly);
        var script = CSharpScript.Create("var warm = 1;", options);
        var state = script.RunAsync().GetAwaiter().GetResult();
        var scripts = new List<Script<object>>();
        foreach (var cell in Cells)
        {
            script = script.ContinueWith(cell, options);
            script.Compile();
            scripts.Add(script);
        }
        var tracker = Tracker.Start(capture, new TrackerOptions { CollectBeforeStop = false, Overwrite = true });
        foreach (var next in scripts)
            state = next.RunFromAsync(state).GetAwaiter().GetResult();
        tracker.Stop();
        facts["result"] = state.ReturnValue;
    }
}
