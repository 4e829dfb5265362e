using System.Reflection;
using System.Text.RegularExpressions;
using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Tests.Cli;
using Xunit;

namespace MemNotebook.Recorder.Tests.Capture;

/// <summary>
/// The record tags and header constants are written twice, by the tracer (native/src/writer/capture_writer.h) and by
/// the reader (CaptureFormat): these tests hold the two tables equal, name for name and value for value.
/// </summary>
public partial class FormatConstantsTests
{
    private static string WriterHeader() =>
        File.ReadAllText(Path.Combine(CliUsageTests.RepositoryRoot(), "native", "src", "writer", "capture_writer.h"));

    [GeneratedRegex(@"^\s*kTag(?<name>\w+)\s*=\s*0x(?<value>[0-9A-Fa-f]+)\s*,", RegexOptions.Multiline)]
    private static partial Regex NativeTag();

    [GeneratedRegex(@"^constexpr\s+\w+\s+k(?<name>FormatVersion|ChunkMagic|MetaStream|GcStream|Flag\w+|HeapKindLarge|SampledExact|MaxModuleSymbols)\s*=\s*(?<value>[^;]+);", RegexOptions.Multiline)]
    private static partial Regex NativeConstant();

    private static SortedDictionary<string, long> NativeTags() =>
        new(NativeTag().Matches(WriterHeader()).ToDictionary(m => m.Groups["name"].Value, m => Convert.ToInt64(m.Groups["value"].Value, 16)));

    private static SortedDictionary<string, long> ManagedTags() =>
        new(typeof(CaptureFormat).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.Name.StartsWith("Tag", StringComparison.Ordinal) && f.FieldType == typeof(byte))
            .ToDictionary(f => f.Name["Tag".Length..], f => (long)(byte)f.GetRawConstantValue()!));

    [Fact]
    public void Native_and_managed_record_tags_are_the_same_table()
    {
        var native = NativeTags();
        var managed = ManagedTags();
        Assert.Equal(23, native.Count);
        Assert.Equal(native, managed);
    }

    [Fact]
    public void Every_tag_has_its_document_name()
    {
        // TagName gives the name docs/capture-format.md uses: the constant's name in capitals with underscores.
        foreach (var (name, value) in ManagedTags())
            Assert.Equal(Regex.Replace(name, "(?<=[a-z])(?=[A-Z])", "_").ToUpperInvariant(), CaptureFormat.TagName((byte)value));
        Assert.Equal("unknown", CaptureFormat.TagName(0x7F));
    }

    [Fact]
    public void Native_and_managed_header_constants_agree()
    {
        var native = NativeConstant().Matches(WriterHeader())
            .ToDictionary(m => m.Groups["name"].Value, m => m.Groups["value"].Value.Trim());
        long Value(string name) => native[name] switch
        {
            var v when v.StartsWith("0x", StringComparison.Ordinal) => Convert.ToInt64(v[2..].Split(' ')[0], 16),
            "16u << 20" => 16L << 20,
            var v => long.Parse(v.Split(' ')[0]),
        };
        Assert.Equal(CaptureFormat.Version, Value("FormatVersion"));
        Assert.Equal(CaptureFormat.ChunkMagic, Value("ChunkMagic"));
        Assert.Equal(CaptureFormat.MetaStream, Value("MetaStream"));
        Assert.Equal(CaptureFormat.GcStream, Value("GcStream"));
        Assert.Equal(CaptureFormat.FlagAggregated, Value("FlagAggregated"));
        Assert.Equal(CaptureFormat.FlagNative, Value("FlagNative"));
        Assert.Equal(CaptureFormat.FlagSampled, Value("FlagSampled"));
        Assert.Equal(CaptureFormat.FlagIlFrames, Value("FlagIlFrames"));
        Assert.Equal(CaptureFormat.HeapKindLarge, Value("HeapKindLarge"));
        Assert.Equal(CaptureFormat.SampledExactBit, Value("SampledExact"));
        Assert.Equal(CaptureFormat.MaxModuleSymbolBytes, Value("MaxModuleSymbols"));
        Assert.Equal(11, native.Count);
    }
}
