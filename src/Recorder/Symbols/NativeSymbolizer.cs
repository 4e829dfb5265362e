using MemNotebook.Recorder.Capture;

namespace MemNotebook.Recorder.Symbols;

/// <summary>
/// Names native frames at report time from a capture's MODULE records and the ELF symbol tables of
/// those files (.symtab, then .dynsym), as they are on the machine reading the capture. The tracer
/// names what it can when it writes (the dynamic symbols of modules still loaded then); this fills in
/// the rest: static functions, and libraries unloaded before the writer saw the frame. No file:line
/// (that would need DWARF line tables). Symbol tables are cached per file path and modification time.
/// </summary>
public static class NativeSymbolizer
{
    private static readonly Dictionary<(string, DateTime), ElfSymbolTable> Cache = new();

    /// <summary>Rewrites, in the tables, every frame of a stack node that is not a named managed frame and has no function name.</summary>
    public static void Resolve(CaptureTables tables)
    {
        if (tables.ModuleList.Count == 0)
            return;
        // Later records first: a path loaded again at another base describes the newer mapping.
        var modules = tables.ModuleList.AsEnumerable().Reverse().ToArray();
        var ips = new HashSet<ulong>();
        foreach (var node in tables.StackNodeList)
            ips.Add(node.Ip);
        foreach (var ip in ips)
        {
            var frame = tables.Frame(ip);
            if (frame.Kind == FrameKind.Managed || frame.Function.Length > 0)
                continue;
            // A return address: the call is the instruction before it.
            var at = ip - 1;
            foreach (var module in modules)
            {
                if (at < module.Base || at - module.Base >= module.Size)
                    continue;
                var offset = ip - module.Base;
                var name = SymbolsOf(module.Path).FunctionAt(at - module.Base);
                tables.FramesByIp[ip] = new FrameRecord(ip, FrameKind.Native, name ?? "", System.IO.Path.GetFileName(module.Path), offset);
                break;
            }
        }
    }

    private static ElfSymbolTable SymbolsOf(string path)
    {
        DateTime stamp;
        try
        {
            stamp = File.GetLastWriteTimeUtc(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return ElfSymbolTable.Empty;
        }
        lock (Cache)
        {
            if (!Cache.TryGetValue((path, stamp), out var table))
                Cache[(path, stamp)] = table = ElfSymbolTable.Load(path);
            return table;
        }
    }
}
