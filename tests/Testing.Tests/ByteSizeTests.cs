namespace MemNotebook.Testing.Tests;

public sealed class ByteSizeTests
{
    [Theory]
    [InlineData("24 MB", 24L << 20)]
    [InlineData("24MB", 24L << 20)]
    [InlineData("1 KB", 1024)]
    [InlineData("1 kib", 1024)]
    [InlineData("1.5 GB", 3L << 29)]
    [InlineData("512 B", 512)]
    [InlineData("4096", 4096)]
    [InlineData("0 B", 0)]
    [InlineData(" 2 TB ", 2L << 40)]
    public void A_size_is_a_number_and_a_unit_of_powers_of_1024(string text, long bytes)
    {
        Assert.True(ByteSize.TryParse(text, out var parsed, out var error), error);
        Assert.Equal(bytes, parsed);
    }

    [Theory]
    [InlineData("24 MiBs", "\"24 MiBs\": unknown unit \"MiBs\": expected B, KB, MB, GB or TB (or KiB, MiB, GiB, TiB), e.g. \"24 MB\"")]
    [InlineData("-1 MB", "\"-1 MB\" is negative: a memory limit is 0 or more bytes")]
    [InlineData("MB", "\"MB\" is not a size: expected a number and a unit (B, KB, MB, GB, TB), e.g. \"24 MB\"")]
    [InlineData("1,5 MB", "\"1,5 MB\" is not a size: expected a number and a unit (B, KB, MB, GB, TB), e.g. \"24 MB\"")]
    [InlineData("", "the size is empty: expected a number and a unit, e.g. \"24 MB\"")]
    [InlineData("0.5 B", "\"0.5 B\" is not a whole number of bytes (0.5)")]
    [InlineData("99999999 TB", "\"99999999 TB\" is too large: at most 9,223,372,036,854,775,807 bytes")]
    public void A_bad_size_says_what_is_wrong(string text, string message)
    {
        Assert.False(ByteSize.TryParse(text, out _, out var error));
        Assert.Equal(message, error);
    }
}
