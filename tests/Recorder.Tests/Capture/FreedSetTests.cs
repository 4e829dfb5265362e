using MemNotebook.Recorder.Format;
using Xunit;

namespace MemNotebook.Recorder.Tests.Capture;

public class FreedSetTests
{
    [Fact]
    public void Freed_set_catches_a_second_free_also_after_a_page_collapsed()
    {
        var set = new FreedSet();
        for (long i = 0; i < 65536; i++)
            Assert.True(set.TryMarkFreed(i));
        Assert.False(set.TryMarkFreed(0));
        Assert.False(set.TryMarkFreed(65535));
        Assert.True(set.TryMarkFreed(65536 * 3 + 5));
        Assert.False(set.TryMarkFreed(65536 * 3 + 5));
        Assert.True(set.TryMarkFreed(65536 * 3 + 6));
    }
}
