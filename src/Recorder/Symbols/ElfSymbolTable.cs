using System.Buffers.Binary;
using System.Text;

namespace MemNotebook.Recorder.Symbols;

/// <summary>
/// The function symbols of one ELF64 little-endian file (.symtab and .dynsym), for naming native
/// frames at report time. Reads the section headers and the two symbol tables only; a file that is
/// not such an ELF object, or is damaged, gives an empty table (frames stay unnamed, never an error).
/// </summary>
public sealed class ElfSymbolTable
{
    private const uint ShtSymtab = 2;
    private const uint ShtDynsym = 11;
    private const byte SttFunc = 2;
    private const byte SttGnuIfunc = 10;
    private const int MaxFileBytes = 1 << 30;

    private readonly ulong[] starts;
    private readonly ulong[] sizes;
    private readonly string[] names;

    private ElfSymbolTable(List<(ulong Start, ulong Size, string Name)> symbols)
    {
        symbols.Sort((a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : b.Size.CompareTo(a.Size));
        starts = symbols.Select(s => s.Start).ToArray();
        sizes = symbols.Select(s => s.Size).ToArray();
        names = symbols.Select(s => s.Name).ToArray();
    }

    public static readonly ElfSymbolTable Empty = new([]);

    public int Count => names.Length;

    /// <summary>Reads the function symbols of <paramref name="path"/>; <see cref="Empty"/> if it cannot.</summary>
    public static ElfSymbolTable Load(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists || info.Length > MaxFileBytes || info.Length < 64)
                return Empty;
            return Parse(File.ReadAllBytes(path));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Empty;
        }
    }

    /// <summary>Parses an ELF image; <see cref="Empty"/> for anything but a sound ELF64 little-endian object.</summary>
    public static ElfSymbolTable Parse(ReadOnlySpan<byte> elf)
    {
        if (elf.Length < 64 || elf[0] != 0x7F || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F'
            || elf[4] != 2 /* ELFCLASS64 */ || elf[5] != 1 /* little-endian */)
            return Empty;
        var shoff = BinaryPrimitives.ReadUInt64LittleEndian(elf[0x28..]);
        var shentsize = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x3A..]);
        var shnum = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x3C..]);
        if (shentsize < 64 || shoff == 0 || shoff > (ulong)elf.Length || (ulong)shnum * shentsize > (ulong)elf.Length - shoff)
            return Empty;
        var symbols = new List<(ulong, ulong, string)>();
        var seen = new HashSet<(ulong, string)>();
        for (var i = 0; i < shnum; i++)
        {
            var sh = elf.Slice((int)shoff + i * shentsize, 64);
            var type = BinaryPrimitives.ReadUInt32LittleEndian(sh[4..]);
            if (type != ShtSymtab && type != ShtDynsym)
                continue;
            var offset = BinaryPrimitives.ReadUInt64LittleEndian(sh[0x18..]);
            var size = BinaryPrimitives.ReadUInt64LittleEndian(sh[0x20..]);
            var link = BinaryPrimitives.ReadUInt32LittleEndian(sh[0x28..]);
            var entsize = BinaryPrimitives.ReadUInt64LittleEndian(sh[0x38..]);
            if (entsize < 24 || link >= shnum || !Within(elf, offset, size))
                continue;
            var strHeader = elf.Slice((int)shoff + (int)link * shentsize, 64);
            var strOffset = BinaryPrimitives.ReadUInt64LittleEndian(strHeader[0x18..]);
            var strSize = BinaryPrimitives.ReadUInt64LittleEndian(strHeader[0x20..]);
            if (!Within(elf, strOffset, strSize))
                continue;
            var strings = elf.Slice((int)strOffset, (int)strSize);
            var table = elf.Slice((int)offset, (int)size);
            for (ulong at = 0; at + entsize <= size; at += entsize)
            {
                var sym = table.Slice((int)at, 24);
                var info = sym[4];
                var kind = (byte)(info & 0xF);
                var section = BinaryPrimitives.ReadUInt16LittleEndian(sym[6..]);
                if ((kind != SttFunc && kind != SttGnuIfunc) || section == 0)
                    continue;
                var nameAt = BinaryPrimitives.ReadUInt32LittleEndian(sym);
                var value = BinaryPrimitives.ReadUInt64LittleEndian(sym[8..]);
                var symSize = BinaryPrimitives.ReadUInt64LittleEndian(sym[16..]);
                if (nameAt >= strings.Length || value == 0)
                    continue;
                var rest = strings[(int)nameAt..];
                var end = rest.IndexOf((byte)0);
                if (end <= 0)
                    continue;
                var name = Encoding.UTF8.GetString(rest[..end]);
                if (seen.Add((value, name)))
                    symbols.Add((value, symSize, name));
            }
        }
        return symbols.Count == 0 ? Empty : new ElfSymbolTable(symbols);
    }

    private static bool Within(ReadOnlySpan<byte> elf, ulong offset, ulong size) =>
        offset <= (ulong)elf.Length && size <= (ulong)elf.Length - offset && size <= int.MaxValue;

    /// <summary>The function containing a virtual address of the file (load bias removed), or null.</summary>
    public string? FunctionAt(ulong address)
    {
        var lo = 0;
        var hi = starts.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (starts[mid] <= address)
                lo = mid + 1;
            else
                hi = mid;
        }
        // Symbols starting at or before the address, nearest first: the first that contains it.
        for (var i = lo - 1; i >= 0 && i >= lo - 8; i--)
        {
            if (address < starts[i] + Math.Max(sizes[i], 1))
                return names[i];
        }
        return null;
    }
}
