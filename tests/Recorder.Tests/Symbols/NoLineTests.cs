using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using System.Text;
using System.Text.Json;
using Apache.Arrow;
using MemNotebook.Recorder.Arrow;
using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Reports;
using MemNotebook.Recorder.Symbols;
using MemNotebook.Recorder.Tests.Arrow;
using MemNotebook.Recorder.Tests.Capture;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Emit;
using Xunit;

namespace MemNotebook.Recorder.Tests.Symbols;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SymbolServerCollection
{
    // SymbolServer's settings are the process's: no other test converts a capture while these run.
    public const string Name = "symbol server";
}

/// <summary>
/// Managed frames without a line say why ("no line: no PDB"), and a symbol server gives the PDB an assembly lacks. The
/// assembly is compiled here from <see cref="Source"/> with its portable PDB kept apart (its CodeView entry names a
/// path that does not exist), so the lines expected are those of that source.
/// </summary>
[Collection(SymbolServerCollection.Name)]
public sealed class NoLineTests : IDisposable
{
    private const string SourcePath = "/src/Fixture/Lines.cs";

    private const string Source =
        "namespace Fixture;\n" +                    // 1
        "public static class Lines\n" +             // 2
        "{\n" +                                     // 3
        "    public static int[] Make(int n)\n" +   // 4
        "    {\n" +                                 // 5
        "        return new int[n];\n" +            // 6
        "    }\n" +                                 // 7
        "#line hidden\n" +                          // 8
        "    public static int Plumbing() { return 1; }\n" +
        "#line default\n" +
        "}\n";

    private readonly ScratchFolder scratch = new();
    private readonly string dll;
    private readonly byte[] pdb;
    private readonly int makeToken, plumbingToken;

    public NoLineTests()
    {
        (dll, pdb) = Compile(Path.Combine(scratch.Root, "bin"));
        using var pe = new PEReader(File.OpenRead(dll));
        var metadata = pe.GetMetadataReader();
        int TokenOf(string name) => MetadataTokens.GetToken(metadata.MethodDefinitions.Single(m => metadata.GetString(metadata.GetMethodDefinition(m).Name) == name));
        makeToken = TokenOf("Make");
        plumbingToken = TokenOf("Plumbing");
        SymbolServer.CacheFolder = Path.Combine(scratch.Root, "symbols");
        SymbolServer.ResetFailures();
    }

    public void Dispose()
    {
        SymbolServer.Server = null;
        SymbolServer.CacheFolder = null;
        SymbolServer.Warn = null;
        SymbolServer.ResetFailures();
        scratch.Dispose();
    }

    private static (string Dll, byte[] Pdb) Compile(string folder)
    {
        var tree = CSharpSyntaxTree.ParseText(Source, path: SourcePath, encoding: Encoding.UTF8);
        var compilation = CSharpCompilation.Create("Fixture", [tree], [MetadataReference.CreateFromFile(typeof(object).Assembly.Location)],
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, optimizationLevel: OptimizationLevel.Release, deterministic: true));
        using var image = new MemoryStream();
        using var symbols = new MemoryStream();
        var emitted = compilation.Emit(image, symbols,
            options: new EmitOptions(debugInformationFormat: DebugInformationFormat.PortablePdb, pdbFilePath: "/nonexistent-memnb-build/Fixture.pdb"));
        Assert.True(emitted.Success, string.Join("\n", emitted.Diagnostics));
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, "Fixture.dll");
        File.WriteAllBytes(path, image.ToArray());
        return (path, symbols.ToArray());
    }

    /// <summary>
    /// Main (no IL position) → Submission#3.&lt;Factory&gt; (a cell's entry stub) → Run (a module loaded from memory
    /// without symbols) → Plumbing (hidden sequence points) → Make (line 6), allocating 100 bytes; and Main → memcpy
    /// (native) allocating 24; and Main → Submission#3.&lt;Initialize&gt; (the stub allocating the cell's state machine) 8.
    /// </summary>
    private string WriteCapture(string name)
    {
        var w = new TestCaptureWriter(flags: (ushort)CaptureFormat.FlagIlFrames);
        w.Chunk(0).Clock(1000, 5_000_000).Type(0, 0x7f00_1000, "System.Int32[]", flags: 1)
            .StackNode(1, 0, 0x400).StackNode(2, 1, 0x600).StackNode(3, 2, 0x300).StackNode(4, 3, 0x200).StackNode(5, 4, 0x100)
            .StackNode(6, 1, 0x500).StackNode(7, 1, 0x700).Frame(0x700, 0, "Submission#3.<Initialize>", "cell")
            .Frame(0x400, 0, "App.Program.Main", "App.dll").Frame(0x600, 0, "Submission#3.<Factory>", "cell")
            .Frame(0x300, 0, "Emitted.Type.Run", "RefEmit_InMemoryManifestModule").Frame(0x200, 0, "Fixture.Lines.Plumbing", "Fixture.dll")
            .Frame(0x100, 0, "Fixture.Lines.Make", "Fixture.dll").Frame(0x500, 1, "memcpy", "libc.so.6", 0x20)
            .ManagedModule(1, dll, "Fixture.dll").ManagedModule(2, "", "RefEmit_InMemoryManifestModule")
            .IlFrame(0x100, 1, (ulong)makeToken, 2).IlFrame(0x200, 1, (ulong)plumbingToken, 0).IlFrame(0x300, 2, 0x06000001, 0)
            .Thread(2, 777, 1).Write();
        w.Chunk(2).Alloc(1100, 0, 100, 5, 0x10_0000).Alloc(1150, 0, 24, 6, 0x10_0100).Alloc(1160, 0, 8, 7, 0x10_0200).Write();
        return scratch.Write(name, w);
    }

    private static Dictionary<string, (string? File, int? Line, string? NoLine)> FramesTable(MemNotebook.Capture capture)
    {
        var frames = capture.ArrowTable(ArrowLayout.Frames);
        var raw = (StringArray)frames.Column("raw_function");
        var files = (StringArray)frames.Column("file");
        var lines = (Int32Array)frames.Column("line");
        var noLines = (StringArray)frames.Column("no_line");
        return Enumerable.Range(0, frames.Length).ToDictionary(i => raw.GetString(i),
            i => (files.IsNull(i) ? null : files.GetString(i), lines.GetValue(i), noLines.IsNull(i) ? null : noLines.GetString(i)));
    }

    /// <summary>Every root-to-leaf path of the tree, frames joined by " / ".</summary>
    private static List<string> Paths(FlameNode node, string prefix = "")
    {
        var result = new List<string>();
        foreach (var child in node.Children)
        {
            var path = prefix.Length == 0 ? child.Name : prefix + " / " + child.Name;
            var below = Paths(child, path);
            if (below.Count == 0)
                result.Add(path);
            result.AddRange(below);
        }
        return result;
    }

    [Theory]
    [InlineData("App.Run", null, 0, "no PDB", "App.Run (no line: no PDB)")]
    [InlineData("App.Run", null, 0, "no sequence point", "App.Run (no line: no sequence point)")]
    [InlineData("App.Run", "/src/App.cs", 12, null, "App.Run (App.cs:12)")]
    [InlineData("cell 2", "", 5, null, "cell 2 (line 5)")]
    [InlineData("memcpy", null, 0, null, "memcpy")]
    public void A_frame_is_shown_with_its_line_or_the_reason_it_has_none(string name, string? file, int line, string? reason, string expected)
    {
        Assert.Equal(expected, NoLine.WithLocation(name, file, line, reason));
    }

    [Fact]
    public void Managed_frames_without_a_line_name_the_reason_in_the_frames_table_and_every_report()
    {
        var path = WriteCapture("no-line.memnb");
        var capture = MemNotebook.Capture.Load(path);

        // The frames table: file and line null, the reason in no_line; a native frame without DWARF has no reason.
        var frames = FramesTable(capture);
        Assert.Equal((null, null, "no PDB"), frames["Fixture.Lines.Make"]);
        Assert.Equal((null, null, "no PDB"), frames["Fixture.Lines.Plumbing"]);
        Assert.Equal((null, null, "dynamic module"), frames["Emitted.Type.Run"]);
        Assert.Equal((null, null, "no IL offset"), frames["App.Program.Main"]);
        Assert.Equal((null, null, "no IL offset"), frames["Submission#3.<Factory>"]);
        Assert.Equal((null, null, null), frames["memcpy"]);
        // The DataFrame: null, not the marker.
        var make = Enumerable.Range(0, (int)capture.Frames.Rows.Count).Single(i => (string)capture.Frames.Columns["raw_function"][i] == "Fixture.Lines.Make");
        Assert.Null(capture.Frames.Columns["file"][make]);
        Assert.Null(capture.Frames.Columns["line"][make]);
        Assert.Equal("no PDB", capture.Frames.Columns["no_line"][make]);

        // Flame graph, its tooltip and the tree: the marker where the file:line would be; the cell's entry stub left out
        // where the code runs under it, kept with its marker where it allocated.
        var tree = FlameTree.Build(capture, new ReportSelection(ReportMode.Allocated));
        Assert.Equal(
        [
            "App.Program.Main (no line: no IL offset) / Emitted.Type.Run (no line: dynamic module) / Fixture.Lines.Plumbing (no line: no PDB) / Fixture.Lines.Make (no line: no PDB)",
            "App.Program.Main (no line: no IL offset) / memcpy",
            "App.Program.Main (no line: no IL offset) / cell 3 (no line: no IL offset)",
        ], Paths(tree.Root));
        Assert.Equal((null, null, "no IL offset"), frames["Submission#3.<Initialize>"]);
        Assert.Contains("Fixture.Lines.Make (no line: no PDB)", FlameJson.ToJson(tree));
        Assert.Contains("Fixture.Lines.Make (no line: no PDB)", ReportText.Tree(tree, 10, 10));

        // Speedscope: the same names, no file or line, no stub.
        using var stream = new MemoryStream();
        Exports.SpeedscopeExport.Write(capture, stream);
        using var json = JsonDocument.Parse(stream.ToArray());
        var shared = json.RootElement.GetProperty("shared").GetProperty("frames").EnumerateArray().ToArray();
        Assert.Equal(
            ["App.Program.Main (no line: no IL offset)", "Emitted.Type.Run (no line: dynamic module)", "Fixture.Lines.Make (no line: no PDB)",
             "Fixture.Lines.Plumbing (no line: no PDB)", "cell 3 (no line: no IL offset)", "memcpy"],
            shared.Select(f => f.GetProperty("name").GetString()).Order(StringComparer.Ordinal));
        Assert.All(shared, f => Assert.False(f.TryGetProperty("file", out _) || f.TryGetProperty("line", out _)));

        // Stacks as stats and notebooks list them: the stub left out.
        var stack = capture.Columns.FrameNames(5);
        Assert.Equal(["Fixture.Lines.Make", "Fixture.Lines.Plumbing", "Emitted.Type.Run", "App.Program.Main"], stack);
        Assert.Equal(["cell 3", "App.Program.Main"], capture.Columns.FrameNames(7));
    }

    /// <summary>A local symbol server: the fixture's PDB at its SSQP key under /symbols/, 404 for anything else.</summary>
    private sealed class LocalSymbolServer : IDisposable
    {
        private readonly HttpListener listener = new();
        private readonly Task loop;
        public List<string> Requests { get; } = new();
        public string Url { get; }

        public LocalSymbolServer(string key, byte[] pdb, bool serve = true)
        {
            var port = FreePort();
            Url = $"http://127.0.0.1:{port}/symbols";
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            listener.Start();
            loop = Task.Run(async () =>
            {
                while (listener.IsListening)
                {
                    HttpListenerContext context;
                    try { context = await listener.GetContextAsync(); }
                    catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException) { return; }
                    var asked = context.Request.Url!.AbsolutePath;
                    lock (Requests)
                        Requests.Add(asked);
                    if (serve && asked == "/symbols/" + key)
                    {
                        context.Response.StatusCode = 200;
                        await context.Response.OutputStream.WriteAsync(pdb);
                    }
                    else
                        context.Response.StatusCode = 404;
                    context.Response.Close();
                }
            });
        }

        public void Dispose()
        {
            listener.Stop();
            listener.Close();
            loop.Wait(TimeSpan.FromSeconds(5));
        }
    }

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    private string ExpectedKey()
    {
        // The PDB's own id (its first 16 bytes as a GUID), not read through the code under test.
        using var provider = MetadataReaderProvider.FromPortablePdbImage(ImmutableArray.Create(pdb));
        var id = provider.GetMetadataReader().DebugMetadataHeader!.Id;
        return $"fixture.pdb/{new Guid(id.AsSpan(0, 16)):N}FFFFFFFF/fixture.pdb";
    }

    [Fact]
    public void The_ssqp_key_of_an_assembly_is_its_pdb_name_and_guid()
    {
        Assert.Equal(ExpectedKey(), SymbolServer.KeyOf(dll));
        Assert.Null(SymbolServer.KeyOf(Path.Combine(scratch.Root, "absent.dll")));
    }

    [Fact]
    public void A_pdb_from_a_symbol_server_gives_the_line_and_is_kept_in_the_cache()
    {
        var key = ExpectedKey();
        using var server = new LocalSymbolServer(key, pdb);
        SymbolServer.Server = server.Url;
        var warnings = new List<string>();
        SymbolServer.Warn = warnings.Add;

        var capture = MemNotebook.Capture.Load(WriteCapture("served.memnb"));
        var frames = FramesTable(capture);
        Assert.Equal((SourcePath, 6, null), frames["Fixture.Lines.Make"]);
        Assert.Equal((null, null, "no sequence point"), frames["Fixture.Lines.Plumbing"]);
        Assert.Equal((null, null, "dynamic module"), frames["Emitted.Type.Run"]);
        var tree = FlameTree.Build(capture, new ReportSelection(ReportMode.Allocated));
        Assert.Contains("App.Program.Main (no line: no IL offset) / Emitted.Type.Run (no line: dynamic module) / Fixture.Lines.Plumbing (no line: no sequence point) / Fixture.Lines.Make (Lines.cs:6)",
            Paths(tree.Root));
        Assert.Equal(["/symbols/" + key], server.Requests);
        Assert.Equal(pdb, File.ReadAllBytes(Path.Combine(scratch.Root, "symbols", key)));
        Assert.Empty(warnings);

        // Another capture of the same assembly, after the process forgot it: from the cache, no request.
        var copy = Path.Combine(scratch.Root, "bin2", "Fixture.dll");
        Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
        File.Copy(dll, copy);
        var again = MemNotebook.Capture.Load(WriteCaptureOf(copy, "again.memnb"));
        Assert.Equal((SourcePath, 6, null), FramesTable(again)["Fixture.Lines.Make"]);
        Assert.Single(server.Requests);
    }

    private string WriteCaptureOf(string assembly, string name)
    {
        var w = new TestCaptureWriter(flags: (ushort)CaptureFormat.FlagIlFrames);
        w.Chunk(0).Clock(1000, 5_000_000).Type(0, 0x7f00_1000, "System.Int32[]", flags: 1).StackNode(1, 0, 0x100)
            .Frame(0x100, 0, "Fixture.Lines.Make", "Fixture.dll").ManagedModule(1, assembly, "Fixture.dll")
            .IlFrame(0x100, 1, (ulong)makeToken, 2).Thread(2, 777, 1).Write();
        w.Chunk(2).Alloc(1100, 0, 100, 1, 0x10_0000).Write();
        return scratch.Write(name, w);
    }

    [Fact]
    public void A_miss_is_remembered_and_not_asked_again()
    {
        var key = ExpectedKey();
        using var server = new LocalSymbolServer(key, pdb, serve: false);
        SymbolServer.Server = server.Url;
        var warnings = new List<string>();
        SymbolServer.Warn = warnings.Add;
        Assert.Equal((null, null, "no PDB"), FramesTable(MemNotebook.Capture.Load(WriteCapture("miss.memnb")))["Fixture.Lines.Make"]);
        Assert.Equal(["/symbols/" + key], server.Requests);
        Assert.True(File.Exists(Path.Combine(scratch.Root, "symbols", key + ".missing")));

        var copy = Path.Combine(scratch.Root, "bin2", "Fixture.dll");
        Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
        File.Copy(dll, copy);
        Assert.Equal((null, null, "no PDB"), FramesTable(MemNotebook.Capture.Load(WriteCaptureOf(copy, "miss2.memnb")))["Fixture.Lines.Make"]);
        Assert.Single(server.Requests);
        Assert.Empty(warnings); // a miss is an answer, not a failure
    }

    [Fact]
    public void A_server_that_does_not_answer_is_one_warning_and_the_report_is_made()
    {
        var port = FreePort(); // nothing listens there
        SymbolServer.Server = $"http://127.0.0.1:{port}";
        SymbolServer.Timeout = TimeSpan.FromSeconds(5);
        var warnings = new List<string>();
        SymbolServer.Warn = warnings.Add;
        try
        {
            var capture = MemNotebook.Capture.Load(WriteCapture("down.memnb"));
            Assert.Equal((null, null, "no PDB"), FramesTable(capture)["Fixture.Lines.Make"]);
            Assert.Equal(3, FlameTree.Build(capture, new ReportSelection(ReportMode.Allocated)).Root.Count);
            var warning = Assert.Single(warnings);
            Assert.StartsWith($"memnb: warning: symbol server http://127.0.0.1:{port}: ", warning);
            Assert.EndsWith("; frames of modules without a PDB have no line", warning);
        }
        finally
        {
            SymbolServer.Timeout = TimeSpan.FromSeconds(10);
        }
    }

    [Fact]
    public void A_server_that_accepts_but_never_answers_times_out_with_one_warning()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0); // connections wait in its backlog, unanswered
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        SymbolServer.Server = $"http://127.0.0.1:{port}";
        SymbolServer.Timeout = TimeSpan.FromSeconds(1);
        var warnings = new List<string>();
        SymbolServer.Warn = warnings.Add;
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            Assert.Equal((null, null, "no PDB"), FramesTable(MemNotebook.Capture.Load(WriteCapture("silent.memnb")))["Fixture.Lines.Make"]);
            Assert.Equal([$"memnb: warning: symbol server http://127.0.0.1:{port}: no answer within 1 s; frames of modules without a PDB have no line"], warnings);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"{clock.Elapsed}");
            Assert.False(File.Exists(Path.Combine(scratch.Root, "symbols", ExpectedKey() + ".missing"))); // a failure is no miss
        }
        finally
        {
            SymbolServer.Timeout = TimeSpan.FromSeconds(10);
        }
    }

    [Theory]
    [InlineData("Submission#3.<Factory>", true)]
    [InlineData("Submission#12.<Initialize>", true)]
    [InlineData("Submission#3+<<Initialize>>d__0.MoveNext", false)]
    [InlineData("Submission#.<Factory>", false)]
    [InlineData("Submission#3.Work", false)]
    [InlineData("App.<Factory>", false)]
    public void A_cells_entry_stubs_are_recognised_by_their_recorded_names(string raw, bool stub)
    {
        Assert.Equal(stub, ScriptPlumbing.IsEntryStub(raw));
    }
}
