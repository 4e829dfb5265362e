using System.Diagnostics;
using MemNotebook.Recorder.Format;

namespace MemNotebook.Recorder.Symbols;

/// <summary>
/// Names native frames at report time from a capture's MODULE records and the files they name, as they
/// are on the machine reading the capture. The tracer names what it can when it writes (the dynamic
/// symbols of modules still loaded then); this fills in the rest from the ELF symbol tables (.symtab,
/// then .dynsym): static functions, and libraries unloaded before the writer saw the frame. Where the
/// module has DWARF line information (in the file or a separate debug file), libdw (<see cref="DwarfLines"/>)
/// adds the file and line of every native frame and the inlined functions it is in
/// (<see cref="CaptureTables.Sources"/>) — when the file's build-id is the one recorded (or either has none);
/// without libdw, names only, and one notice on stderr.
/// Symbol tables and DWARF handles are cached per file path and modification time.
/// </summary>
public static class NativeSymbolizer
{
    private static readonly Dictionary<(string, DateTime), ElfSymbolTable?> Cache = new();
    private static readonly Dictionary<(string, DateTime), DwarfLines?> DwarfCache = new();

    /// <summary>Time the last <see cref="Resolve"/> took (symbol tables, DWARF, lookups).</summary>
    public static TimeSpan LastDuration { get; private set; }

    /// <summary>
    /// Rewrites, in the tables, every frame of a stack node that is not a named managed frame and has no
    /// function name, and records the source frames of every native frame with line information.
    /// </summary>
    public static void Resolve(CaptureTables tables)
    {
        if (tables.ModuleList.Count == 0)
            return;
        var clock = Stopwatch.StartNew();
        var notice = DwarfLines.TakeUnavailableNotice();
        if (notice is not null)
            Console.Error.WriteLine(notice);
        // Later records first: a path loaded again at another base describes the newer mapping.
        var modules = tables.ModuleList.AsEnumerable().Reverse().ToArray();
        var ips = new HashSet<ulong>();
        foreach (var node in tables.StackNodeList)
            ips.Add(node.Ip);
        foreach (var ip in ips)
        {
            var frame = tables.Frame(ip);
            if (frame.Kind == FrameKind.Managed)
                continue;
            // A return address: the call is the instruction before it.
            var at = ip - 1;
            foreach (var module in modules)
            {
                if (at < module.Base || at - module.Base >= module.Size)
                    continue;
                if (frame.Function.Length == 0)
                {
                    var name = SymbolsOf(module.Path).FunctionAt(at - module.Base);
                    tables.FramesByIp[ip] = new FrameRecord(ip, FrameKind.Native, name ?? "", Path.GetFileName(module.Path), ip - module.Base);
                }
                // Lines only from the very file recorded: a library rebuilt since has other lines at the same address.
                var dwarf = DwarfOf(module.Path);
                if (dwarf is not null && module.BuildId.Length > 0 && dwarf.BuildId.Length > 0
                    && !string.Equals(module.BuildId, dwarf.BuildId, StringComparison.OrdinalIgnoreCase))
                    dwarf = null;
                var source = dwarf?.Lookup(at - module.Base) ?? [];
                if (source.Count > 0)
                    tables.SourcesByIp[ip] = source;
                break;
            }
        }
        LastDuration = clock.Elapsed;
    }

    private static ElfSymbolTable SymbolsOf(string path) =>
        Cached(Cache, path, ElfSymbolTable.Load) ?? ElfSymbolTable.Empty;

    private static DwarfLines? DwarfOf(string path) =>
        DwarfLines.Available ? Cached(DwarfCache, path, p => File.Exists(p) ? DwarfLines.Open(p) : null) : null;

    private static T? Cached<T>(Dictionary<(string, DateTime), T?> cache, string path, Func<string, T?> load) where T : class
    {
        DateTime stamp;
        try
        {
            stamp = File.GetLastWriteTimeUtc(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
        lock (cache)
        {
            if (!cache.TryGetValue((path, stamp), out var value))
                cache[(path, stamp)] = value = load(path);
            return value;
        }
    }
}
