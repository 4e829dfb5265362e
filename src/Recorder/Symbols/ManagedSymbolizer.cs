using System.Diagnostics;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using MemNotebook.Recorder.Format;

namespace MemNotebook.Recorder.Symbols;

/// <summary>
/// The file and line of managed frames, read when a report is made from the IL position the tracer recorded
/// (IL_FRAME: the method's token and the IL offset of the call) and the module's portable PDB
/// (System.Reflection.Metadata): the symbols a module was loaded with from memory (MODULE_SYMBOLS: a notebook
/// cell's), else the PDB embedded in the assembly file or beside it (<c>App.pdb</c> next to <c>App.dll</c>, or the
/// path the assembly's CodeView entry names) when its id is the assembly's. The line is that of the last visible
/// sequence point at or before the IL offset. A frame without any of these — no PDB, a PDB of another build, a
/// dynamic method, a module unloaded before the writer described the frame, a file gone — keeps its name and has
/// no line, with the reason (<see cref="NoLine"/>); nothing here fails a read. Without a PDB of its own, an
/// assembly's PDB may come from a symbol server when one is set (<see cref="SymbolServer"/>). Open PDBs are cached
/// per file path and modification time.
/// </summary>
public static class ManagedSymbolizer
{
    // Keyed by "path\0modification ticks" (and "\0server" for a download): string keys share the runtime's
    // precompiled dictionary code, where tuple keys cost a conversion's first lookup the JIT of their own (a third of
    // the first Resolve's CPU on a small capture).
    private static readonly Dictionary<string, MetadataReaderProvider?> Cache = new();
    private static readonly Dictionary<string, MetadataReaderProvider?> Downloaded = new();

    /// <summary>Time the last <see cref="Resolve"/> took.</summary>
    public static TimeSpan LastDuration { get; private set; }

    /// <summary>
    /// Records, in the tables, the source frame (file, line) of every managed ip whose PDB holds its IL position, and
    /// for every other managed ip why it has none (<see cref="CaptureTables.NoLineReason"/>).
    /// </summary>
    public static void Resolve(CaptureTables tables)
    {
        // A capture recorded without IL positions (before format flag bit 3) has no lines to look for, nor reasons.
        if (tables.IlFramesByIp.Count == 0 && tables.ManagedModuleList.Count == 0)
            return;
        var clock = Stopwatch.StartNew();
        var readers = new MetadataReader?[tables.ManagedModuleList.Count];
        var missing = new string?[readers.Length];
        var opened = new bool[readers.Length];
        var inMemory = new List<MetadataReaderProvider>();
        try
        {
            foreach (var (ip, frame) in tables.FramesByIp)
            {
                if (frame.Kind != FrameKind.Managed || tables.SourcesByIp.ContainsKey(ip))
                    continue;
                if (!tables.IlFramesByIp.TryGetValue(ip, out var il) || (uint)(il.ModuleIndex - 1) >= (uint)readers.Length)
                {
                    tables.NoLineByIp[ip] = NoLine.NoIlOffset;
                    continue;
                }
                var m = il.ModuleIndex - 1;
                if (!opened[m])
                {
                    opened[m] = true;
                    readers[m] = Open(tables.ManagedModuleList[m], inMemory, out missing[m]);
                }
                if (readers[m] is not { } reader)
                    tables.NoLineByIp[ip] = missing[m] ?? NoLine.NoPdb;
                else if (Lookup(reader, il.MethodToken, il.IlOffset) is { } source)
                    tables.SourcesByIp[ip] = [source];
                else
                    tables.NoLineByIp[ip] = NoLine.NoSequencePoint;
            }
        }
        finally
        {
            foreach (var provider in inMemory)
                provider.Dispose();
        }
        LastDuration = clock.Elapsed;
    }

    /// <summary>The source line of an IL offset of a method in a portable PDB, or null.</summary>
    public static SourceFrame? Lookup(MetadataReader pdb, int methodToken, int ilOffset)
    {
        if ((methodToken >> 24) != 0x06 || ilOffset < 0)
            return null;
        var row = methodToken & 0xFFFFFF;
        if (row == 0 || row > pdb.GetTableRowCount(TableIndex.MethodDebugInformation))
            return null;
        try
        {
            var info = pdb.GetMethodDebugInformation(MetadataTokens.MethodDebugInformationHandle(row));
            SequencePoint found = default;
            var any = false;
            foreach (var point in info.GetSequencePoints())
            {
                if (point.Offset > ilOffset)
                    break;
                if (!point.IsHidden)
                    (found, any) = (point, true);
            }
            if (!any || found.Document.IsNil)
                return null;
            var document = pdb.GetDocument(found.Document);
            var file = document.Name.IsNil ? "" : pdb.GetString(document.Name);
            return new SourceFrame(null, file, found.StartLine);
        }
        catch (BadImageFormatException)
        {
            return null;
        }
    }

    private static MetadataReader? Open(ManagedModuleRecord module, List<MetadataReaderProvider> inMemory, out string? missing)
    {
        missing = module.Symbols.Length == 0 && module.Path.Length == 0 ? NoLine.DynamicModule : NoLine.NoPdb;
        try
        {
            if (module.Symbols.Length > 0)
            {
                var provider = MetadataReaderProvider.FromPortablePdbImage(System.Collections.Immutable.ImmutableArray.Create(module.Symbols.Span));
                inMemory.Add(provider);
                return provider.GetMetadataReader();
            }
            if (module.Path.Length == 0)
                return null;
            return Cached(module.Path)?.GetMetadataReader();
        }
        catch (BadImageFormatException)
        {
            return null;
        }
    }

    private static MetadataReaderProvider? Cached(string path)
    {
        DateTime stamp;
        try
        {
            if (!File.Exists(path))
                return null;
            stamp = File.GetLastWriteTimeUtc(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
        MetadataReaderProvider? provider;
        var server = SymbolServer.Server;
        var key = path + "\0" + stamp.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture);
        lock (Cache)
        {
            if (!Cache.TryGetValue(key, out provider))
                Cache[key] = provider = OpenBeside(path);
            if (provider is not null || server is null)
                return provider;
            if (Downloaded.TryGetValue(key + "\0" + server, out provider))
                return provider;
        }
        // Outside the lock: a download may take up to the server's timeout.
        // Only a PDB is remembered here: SymbolServer remembers misses (on disk) and failures (for a minute).
        provider = SymbolServer.Fetch(path) is { } pdb ? OpenDownloaded(path, pdb) : null;
        if (provider is not null)
            lock (Cache)
                Downloaded[key + "\0" + server] = provider;
        return provider;
    }

    // A PDB from a symbol server, used only when its id is the assembly's (TryOpenAssociatedPortablePdb checks it).
    private static MetadataReaderProvider? OpenDownloaded(string path, string pdb)
    {
        try
        {
            using var pe = new PEReader(File.OpenRead(path));
            return pe.TryOpenAssociatedPortablePdb(path, _ => OpenIfThere(pdb), out var provider, out _) ? provider : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or BadImageFormatException or InvalidOperationException)
        {
            return null;
        }
    }

    // The PDB embedded in the assembly or the file beside it (or at its CodeView path), checked against the assembly's PDB id.
    private static MetadataReaderProvider? OpenBeside(string path)
    {
        try
        {
            using var pe = new PEReader(File.OpenRead(path));
            if (!pe.HasMetadata)
                return null;
            return pe.TryOpenAssociatedPortablePdb(path, OpenIfThere, out var provider, out _) ? provider : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or BadImageFormatException or InvalidOperationException)
        {
            return null;
        }
    }

    private static Stream? OpenIfThere(string pdbPath)
    {
        try
        {
            return File.Exists(pdbPath) ? File.OpenRead(pdbPath) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
