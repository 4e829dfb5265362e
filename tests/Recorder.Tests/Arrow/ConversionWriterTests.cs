using System.Diagnostics;
using Apache.Arrow.Ipc;
using MemNotebook.Recorder.Arrow;
using MemNotebook.Recorder.Capture;
using Xunit;
using LoadedCapture = MemNotebook.Capture;

namespace MemNotebook.Recorder.Tests.Arrow;

/// <summary>How the allocations table reaches the disk: space reserved up front, batches written on a thread of their own.</summary>
public class ConversionWriterTests
{
    private static string WithEnd(ScratchFolder scratch, string name, int count, ulong claimed)
    {
        var w = BigCapture.Create(count);
        w.Chunk(0).End((ulong)(40 + count * 2), claimed, 0, 0).Write();
        return scratch.Write(name, w);
    }

    /// <summary>Bytes the file system holds for <paramref name="path"/> (st_blocks × 512).</summary>
    private static long AllocatedBytes(string path)
    {
        using var stat = Process.Start(new ProcessStartInfo("stat", ["-c", "%b %B", path]) { RedirectStandardOutput = true })!;
        var fields = stat.StandardOutput.ReadToEnd().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        stat.WaitForExit();
        return long.Parse(fields[0]) * long.Parse(fields[1]);
    }

    [Fact]
    public void The_table_keeps_no_space_reserved_past_its_end_and_has_the_bytes_of_one_written_as_it_came()
    {
        using var scratch = new ScratchFolder();
        // END counts the allocations: the converter reserves 72 bytes a row and a MiB more, then gives back the rest.
        var reserved = ArrowConverter.Convert(WithEnd(scratch, "end.memnb", 150_000, 150_000), Path.Combine(scratch.Root, "reserved"));
        var plain = ArrowConverter.Convert(scratch.Write("no-end.memnb", BigCapture.Create(150_000)), Path.Combine(scratch.Root, "plain"));
        var table = ArrowLayout.TablePath(reserved.Folder, ArrowLayout.Allocations);
        var length = new FileInfo(table).Length;
        Assert.InRange(AllocatedBytes(table), length - 4096, length + 65536);
        Assert.Equal(File.ReadAllBytes(ArrowLayout.TablePath(plain.Folder, ArrowLayout.Allocations)), File.ReadAllBytes(table));
    }

    [Fact]
    public void A_capture_whose_end_claims_more_than_the_disk_holds_still_converts()
    {
        using var scratch = new ScratchFolder();
        // 10^12 rows would need 72 TB: the reservation fails and the table is written as it comes.
        var conversion = ArrowConverter.Convert(WithEnd(scratch, "claims.memnb", 1_000, 1_000_000_000_000), Path.Combine(scratch.Root, "out"));
        Assert.Equal(1_000, conversion.Metadata.Allocations);
        Assert.Equal(1_000, LoadedCapture.Load(conversion.Folder).Allocations.Rows.Count);
    }

    /// <summary>A file that takes <paramref name="limit"/> bytes, then fails as a full disk does.</summary>
    private sealed class FullDisk(long limit) : MemoryStream
    {
        public override void Write(ReadOnlySpan<byte> buffer) => Write(buffer.ToArray(), 0, buffer.Length);

        public override void Write(byte[] buffer, int offset, int count)
        {
            if (Length + count > limit)
                throw new IOException("No space left on device (test)");
            base.Write(buffer, offset, count);
        }
    }

    private sealed class Rows : CaptureVisitor
    {
        public static void Feed(CaptureVisitor sink, int count)
        {
            var ticks = Enumerable.Range(0, count).Select(i => (long)i).ToArray();
            var types = new int[count];
            var sizes = Enumerable.Repeat(24L, count).ToArray();
            var stacks = new int[count];
            var addresses = Enumerable.Range(0, count).Select(i => (ulong)i * 24).ToArray();
            for (var at = 0; at < count; at += 4096)
            {
                var n = Math.Min(4096, count - at);
                sink.OnAllocations(new AllocationBlock(2, at, ticks.AsSpan(at, n), types.AsSpan(at, n), sizes.AsSpan(at, n),
                    stacks.AsSpan(at, n), addresses.AsSpan(at, n)));
            }
        }
    }

    [Fact]
    public void A_batch_that_fails_to_write_fails_the_conversion_and_ends_the_writer_thread()
    {
        var clock = new TickClock(0, 1.0, isEstimated: false);
        using var disk = new FullDisk(3_000_000);
        using var writer = new ArrowFileWriter(disk, ArrowLayout.AllocationsSchema, leaveOpen: true);
        var batches = new AllocationBatchWriter(writer, new FreeTimes().Seal(clock), clock, new Dictionary<int, long> { [2] = 77 });
        // Five batches of 65,536 rows (~4.6 MB each): the first write already fails, the rest are handed back unwritten.
        Rows.Feed(batches, 5 * 65_536);
        batches.Flush();
        var error = Assert.Throws<IOException>(batches.WaitForWrites);
        Assert.Equal("No space left on device (test)", error.Message);
        Assert.Equal(5 * 65_536, batches.Rows);
        // Asking again reports the same error; nothing waits forever.
        Assert.Throws<IOException>(batches.WaitForWrites);
    }
}
