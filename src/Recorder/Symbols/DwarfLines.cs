using System.Runtime.InteropServices;
using MemNotebook.Recorder.Format;

namespace MemNotebook.Recorder.Symbols;


/// <summary>
/// File:line and inlined frames of code addresses from DWARF, through elfutils' libdw (libdw.so.1, P/Invoke,
/// bound at first use). One offline Dwfl per file, reported at bias 0 and queried with file addresses;
/// separate debug files are found by libdw's standard search (build-id under /usr/lib/debug/.build-id,
/// .gnu_debuglink). Without libdw, <see cref="Available"/> is false and callers keep the ELF symbol names.
/// Not thread-safe per file: each file's lookups run under its lock.
/// </summary>
public sealed unsafe class DwarfLines : IDisposable
{
    private const int DwTagInlinedSubroutine = 0x1d;
    private const int DwTagSubprogram = 0x2e;
    private const int DwAtName = 0x03;
    private const int DwAtLinkageName = 0x6e;
    private const int DwAtCallFile = 0x58;
    private const int DwAtCallLine = 0x59;
    private const int DieSize = 32; // Dwarf_Die: addr, cu, abbrev, padding
    private const int AttributeSize = 24; // Dwarf_Attribute: code, form, valp, cu

    private static readonly Lazy<Api?> Bound = new(Bind);
    private static int warned;

    private readonly nint dwfl;
    private readonly nint module;
    private readonly Api api;

    private DwarfLines(Api api, nint dwfl, nint module)
    {
        this.api = api;
        this.dwfl = dwfl;
        this.module = module;
        byte* bits;
        ulong vaddr;
        var length = api.ModuleBuildId(module, &bits, &vaddr);
        BuildId = length > 0 ? Convert.ToHexStringLower(new ReadOnlySpan<byte>(bits, length)) : "";
    }

    /// <summary>The file's GNU build-id as lower-case hex (as MODULE records hold it), empty if none.</summary>
    public string BuildId { get; }

    /// <summary>Whether libdw.so.1 could be loaded and bound.</summary>
    public static bool Available => Bound.Value is not null;

    /// <summary>Why libdw is not used, once per process (then null): for the report's one warning.</summary>
    public static string? TakeUnavailableNotice() =>
        Available || Interlocked.Exchange(ref warned, 1) != 0
            ? null
            : Environment.GetEnvironmentVariable("MEMNB_LIBDW") == "0"
                ? "memnb: MEMNB_LIBDW=0: native frames are named from ELF symbols, without file:line or inlined frames"
                : "memnb: libdw.so.1 (elfutils) not found: native frames are named from ELF symbols, without file:line or inlined frames";

    /// <summary>Opens <paramref name="path"/> with libdw; null without libdw or if the file is not an ELF object it can read.</summary>
    public static DwarfLines? Open(string path)
    {
        var api = Bound.Value;
        if (api is null)
            return null;
        var dwfl = api.Begin(api.Callbacks);
        if (dwfl == 0)
            return null;
        var name = Marshal.StringToCoTaskMemUTF8(path);
        try
        {
            api.ReportBegin(dwfl);
            var module = api.ReportElf(dwfl, name, name, -1, 0, 0);
            if (module == 0 || api.ReportEnd(dwfl, 0, 0) != 0)
            {
                api.End(dwfl);
                return null;
            }
            return new DwarfLines(api, dwfl, module);
        }
        finally
        {
            Marshal.FreeCoTaskMem(name);
        }
    }

    /// <summary>
    /// The source frames of a file address, innermost first: one per inlined function the address is in,
    /// then the physical function (Function null), each with its location (the inlined ones' call sites for
    /// their callers). Empty where the file has no line information for the address.
    /// </summary>
    public IReadOnlyList<SourceFrame> Lookup(ulong address)
    {
        lock (this)
        {
            var line = api.ModuleGetsrc(module, address);
            if (line == 0)
                return [];
            int lineNumber;
            var file = Utf8(api.Lineinfo(line, null, &lineNumber, null, null, null));
            var frames = new List<SourceFrame>();
            ulong bias;
            var cu = api.ModuleAddrdie(module, address, &bias);
            if (cu != 0)
            {
                // dwarf_getscopes lists the scopes of pc; past an inlined instance it goes on in the inlined
                // function's abstract definition, not in its caller, so each caller comes from
                // dwarf_getscopes_die of the instance (as eu-addr2line -i does).
                var die = stackalloc byte[DieSize];
                var attribute = stackalloc byte[AttributeSize];
                nint scopes = 0;
                var found = NextInlined(api.Getscopes(cu, address - bias, &scopes), scopes, 0, die);
                nint files = 0;
                nuint fileCount = 0;
                var haveFiles = false;
                for (var depth = 0; found && depth < 256; depth++)
                {
                    var function = Utf8(api.Formstring(api.AttrIntegrate((nint)die, DwAtLinkageName, attribute)))
                        ?? Utf8(api.Formstring(api.AttrIntegrate((nint)die, DwAtName, attribute))) ?? "";
                    frames.Add(new SourceFrame(function, file, lineNumber));
                    // The caller's location is this inlined instance's call site.
                    ulong callFile = 0, callLine = 0;
                    if (api.Attr((nint)die, DwAtCallFile, attribute) != 0)
                        api.Formudata(attribute, &callFile);
                    if (api.Attr((nint)die, DwAtCallLine, attribute) != 0)
                        api.Formudata(attribute, &callLine);
                    if (!haveFiles)
                        haveFiles = api.Getsrcfiles(cu, &files, &fileCount) == 0;
                    file = haveFiles && callFile < fileCount ? Utf8(api.Filesrc(files, (nuint)callFile, null, null)) : null;
                    lineNumber = (int)Math.Min(callLine, int.MaxValue);
                    nint containing = 0;
                    found = NextInlined(api.GetscopesDie((nint)die, &containing), containing, 1, die);
                }
            }
            frames.Add(new SourceFrame(null, file, lineNumber));
            return frames;
        }
    }

    /// <summary>
    /// Copies into <paramref name="die"/> the first DW_TAG_inlined_subroutine of a scope list (malloc'd by
    /// libdw) from index <paramref name="from"/>, before any DW_TAG_subprogram; false if there is none. Frees the list.
    /// </summary>
    private bool NextInlined(int count, nint list, int from, byte* die)
    {
        try
        {
            for (var i = from; i < count; i++)
            {
                var scope = list + i * DieSize;
                var tag = api.Tag(scope);
                if (tag == DwTagSubprogram)
                    return false;
                if (tag == DwTagInlinedSubroutine)
                {
                    Buffer.MemoryCopy((void*)scope, die, DieSize, DieSize);
                    return true;
                }
            }
            return false;
        }
        finally
        {
            if (list != 0)
                NativeMemory.Free((void*)list);
        }
    }

    public void Dispose()
    {
        lock (this)
            api.End(dwfl);
    }

    private static string? Utf8(nint text) => text == 0 ? null : Marshal.PtrToStringUTF8(text);

    private static Api? Bind()
    {
        // MEMNB_LIBDW=0 turns DWARF off (names only), as if libdw were not installed.
        if (Environment.GetEnvironmentVariable("MEMNB_LIBDW") == "0" || !NativeLibrary.TryLoad("libdw.so.1", out var lib))
            return null;
        try
        {
            return new Api(lib);
        }
        catch (EntryPointNotFoundException)
        {
            return null;
        }
    }

    /// <summary>The libdw/libdwfl entry points used, bound once.</summary>
    private sealed class Api
    {
        public readonly delegate* unmanaged<nint, nint> Begin;
        public readonly delegate* unmanaged<nint, void> End;
        public readonly delegate* unmanaged<nint, void> ReportBegin;
        public readonly delegate* unmanaged<nint, nint, nint, int, ulong, byte, nint> ReportElf;
        public readonly delegate* unmanaged<nint, nint, nint, int> ReportEnd;
        public readonly delegate* unmanaged<nint, ulong, nint> ModuleGetsrc;
        public readonly delegate* unmanaged<nint, byte**, ulong*, int> ModuleBuildId;
        public readonly delegate* unmanaged<nint, ulong*, int*, int*, ulong*, ulong*, nint> Lineinfo;
        public readonly delegate* unmanaged<nint, ulong, ulong*, nint> ModuleAddrdie;
        public readonly delegate* unmanaged<nint, ulong, nint*, int> Getscopes;
        public readonly delegate* unmanaged<nint, nint*, int> GetscopesDie;
        public readonly delegate* unmanaged<nint, int> Tag;
        public readonly delegate* unmanaged<nint, int, byte*, nint> Attr;
        public readonly delegate* unmanaged<nint, int, byte*, nint> AttrIntegrate;
        public readonly delegate* unmanaged<nint, nint> Formstring;
        public readonly delegate* unmanaged<byte*, ulong*, int> Formudata;
        public readonly delegate* unmanaged<nint, nint*, nuint*, int> Getsrcfiles;
        public readonly delegate* unmanaged<nint, nuint, ulong*, ulong*, nint> Filesrc;

        /// <summary>Dwfl_Callbacks for offline use: the standard ELF and debuginfo finders, offline section addresses. Never freed.</summary>
        public readonly nint Callbacks;

        public Api(nint lib)
        {
            nint F(string name) => NativeLibrary.GetExport(lib, name);
            Begin = (delegate* unmanaged<nint, nint>)F("dwfl_begin");
            End = (delegate* unmanaged<nint, void>)F("dwfl_end");
            ReportBegin = (delegate* unmanaged<nint, void>)F("dwfl_report_begin");
            ReportElf = (delegate* unmanaged<nint, nint, nint, int, ulong, byte, nint>)F("dwfl_report_elf");
            ReportEnd = (delegate* unmanaged<nint, nint, nint, int>)F("dwfl_report_end");
            ModuleGetsrc = (delegate* unmanaged<nint, ulong, nint>)F("dwfl_module_getsrc");
            ModuleBuildId = (delegate* unmanaged<nint, byte**, ulong*, int>)F("dwfl_module_build_id");
            Lineinfo = (delegate* unmanaged<nint, ulong*, int*, int*, ulong*, ulong*, nint>)F("dwfl_lineinfo");
            ModuleAddrdie = (delegate* unmanaged<nint, ulong, ulong*, nint>)F("dwfl_module_addrdie");
            Getscopes = (delegate* unmanaged<nint, ulong, nint*, int>)F("dwarf_getscopes");
            GetscopesDie = (delegate* unmanaged<nint, nint*, int>)F("dwarf_getscopes_die");
            Tag = (delegate* unmanaged<nint, int>)F("dwarf_tag");
            Attr = (delegate* unmanaged<nint, int, byte*, nint>)F("dwarf_attr");
            AttrIntegrate = (delegate* unmanaged<nint, int, byte*, nint>)F("dwarf_attr_integrate");
            Formstring = (delegate* unmanaged<nint, nint>)F("dwarf_formstring");
            Formudata = (delegate* unmanaged<byte*, ulong*, int>)F("dwarf_formudata");
            Getsrcfiles = (delegate* unmanaged<nint, nint*, nuint*, int>)F("dwarf_getsrcfiles");
            Filesrc = (delegate* unmanaged<nint, nuint, ulong*, ulong*, nint>)F("dwarf_filesrc");
            Callbacks = (nint)NativeMemory.AllocZeroed(4, (nuint)sizeof(nint));
            var callbacks = (nint*)Callbacks;
            callbacks[0] = F("dwfl_build_id_find_elf");
            callbacks[1] = F("dwfl_standard_find_debuginfo");
            callbacks[2] = F("dwfl_offline_section_address");
            callbacks[3] = 0; // debuginfo_path: libdw's default (":.debug:/usr/lib/debug")
        }
    }
}

/// <summary>
/// The frames table's <c>inlined</c> column: a native frame's inlined functions, innermost first, one per
/// line ('\n'), each "function\tfile\tline" (file empty and line 0 where unknown). Null where there are none.
/// </summary>
public static class InlinedColumn
{
    public static string? Encode(IReadOnlyList<SourceFrame> source) =>
        source.Count <= 1 ? null : string.Join('\n', source.Take(source.Count - 1).Select(f => $"{f.Function}\t{f.File}\t{f.Line}"));

    public static IReadOnlyList<SourceFrame> Decode(string? value)
    {
        if (string.IsNullOrEmpty(value))
            return [];
        var frames = new List<SourceFrame>();
        foreach (var entry in value.Split('\n'))
        {
            var parts = entry.Split('\t');
            frames.Add(new SourceFrame(parts[0], parts.Length > 1 && parts[1].Length > 0 ? parts[1] : null,
                parts.Length > 2 && int.TryParse(parts[2], out var line) ? line : 0));
        }
        return frames;
    }

    /// <summary>
    /// A frame's name with its location, as flame graphs show it: "name (file.c:42)"; "name (line 12)" for a line of a
    /// document without a name (a notebook cell's code compiled without a file path).
    /// </summary>
    public static string WithLocation(string name, string? file, int line) =>
        string.IsNullOrEmpty(file) ? (file is not null && line > 0 ? $"{name} (line {line})" : name)
        : line > 0 ? $"{name} ({Path.GetFileName(file)}:{line})" : $"{name} ({Path.GetFileName(file)})";
}
