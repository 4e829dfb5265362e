using System.Diagnostics;
using Apache.Arrow.Ipc;
using MemNotebook.Recorder.Arrow;
using MemNotebook.Recorder.Format;
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
        // END counts the allocations: the converter reserves 62 bytes a row and a MiB more, then gives back the rest.
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
        // 10^12 rows would need 62 TB: the reservation fails and the table is written as it comes.
        var conversion = ArrowConverter.Convert(WithEnd(scratch, "claims.memnb", 1_000, 1_000_000_000_000), Path.Combine(scratch.Root, "out"));
        Assert.Equal(1_000, conversion.Metadata.Allocations);
        Assert.Equal(1_000, LoadedCapture.Load(conversion.Folder).Allocations.Rows.Count);
    }

    private sealed class OnReport(Action<double> action) : IProgress<double>
    {
        public void Report(double value) => action(value);
    }

    [Fact]
    public void A_capture_that_grows_while_converting_is_converted_as_it_was_when_the_conversion_began()
    {
        using var scratch = new ScratchFolder();
        var w = BigCapture.Create(150_000);
        var before = w.ToArray();
        // Chunks the tracer writes meanwhile: a type and a stack node not defined before, allocations of them.
        w.Chunk(0).Type(7, 70, "Late").StackNode(3, 2, 0x30).Frame(0x30, 0, "App.Late").Write();
        var late = w.Chunk(2);
        for (var i = 0; i < 100; i++)
            late.Alloc((ulong)(1_000_000 + i), 7, 40, 3, (ulong)(0x9000000 + i * 64));
        late.Write();
        var after = w.ToArray();

        var growing = scratch.Write("growing.memnb", before);
        var appended = false;
        // The first progress report comes from the first pass's first read.
        var progress = new OnReport(_ =>
        {
            if (appended)
                return;
            appended = true;
            using var file = new FileStream(growing, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
            file.Write(after.AsSpan(before.Length));
        });
        var conversion = ArrowConverter.Convert(growing, Path.Combine(scratch.Root, "growing"), progress);
        Assert.True(appended);
        Assert.Equal(after.Length, new FileInfo(growing).Length);

        var still = ArrowConverter.Convert(scratch.Write("before.memnb", before), Path.Combine(scratch.Root, "before"));
        Assert.Equal(150_000, conversion.Metadata.Allocations);
        foreach (var table in ArrowLayout.TableNames)
            Assert.Equal(File.ReadAllBytes(ArrowLayout.TablePath(still.Folder, table)), File.ReadAllBytes(ArrowLayout.TablePath(conversion.Folder, table)));
    }

    [Fact]
    public void A_conversion_that_cannot_create_its_table_fails_after_the_small_tables_are_written()
    {
        using var scratch = new ScratchFolder();
        var path = scratch.Write("big.memnb", BigCapture.Create(1_000));
        var folder = Path.Combine(scratch.Root, "out");
        // A directory where the table's file goes: it cannot be replaced.
        Directory.CreateDirectory(ArrowLayout.TablePath(folder, ArrowLayout.Allocations));
        var error = Assert.ThrowsAny<Exception>(() => ArrowConverter.Convert(path, folder));
        Assert.True(error is IOException or UnauthorizedAccessException, error.ToString());
        Assert.Contains("allocations.arrow", error.Message);
        // The small tables are written on another thread: the failed conversion waited for it, so the
        // caller can delete the folder (as a cache conversion does) without a thread still writing there.
        foreach (var table in ArrowLayout.TableNames.Where(t => t != ArrowLayout.Allocations))
            Assert.Equal(ArrowLayout.SchemaOf(table).FieldsList.Count,
                ArrowTableReader.ReadTable(ArrowLayout.TablePath(folder, table), ArrowLayout.SchemaOf(table)).ColumnCount);
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
