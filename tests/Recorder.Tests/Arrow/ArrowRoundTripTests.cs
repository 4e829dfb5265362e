using MemNotebook.Recorder.Analysis;
using MemNotebook.Recorder.Arrow;
using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Stacks;
using MemNotebook.Recorder.Tests.Capture;
using Microsoft.Data.Analysis;
using Xunit;
using LoadedCapture = MemNotebook.Capture;

namespace MemNotebook.Recorder.Tests.Arrow;

/// <summary>A scratch folder for capture files that cleans up after itself.</summary>
internal sealed class ScratchFolder : IDisposable
{
    public string Root { get; } = Path.Combine(Path.GetTempPath(), $"memnb-arrow-{Guid.NewGuid():N}");

    public ScratchFolder() => Directory.CreateDirectory(Root);

    public string Write(string name, TestCaptureWriter capture) => Write(name, capture.ToArray());

    public string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(Root, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { }
    }
}

internal static class BigCapture
{
    /// <summary>
    /// 150,000 allocations on two threads (more than two record batches), a third of them freed by two
    /// GCs in interleaved runs, so batching, joining and the free runs are all exercised.
    /// </summary>
    public static TestCaptureWriter Create(int count = 150_000)
    {
        var w = new TestCaptureWriter();
        w.Chunk(0).Clock(0, 0).Type(0, 1, "A").Type(1, 2, "B[]", 1).StackNode(1, 0, 0x10).StackNode(2, 1, 0x20)
            .Frame(0x10, 0, "App.Main").Frame(0x20, 0, "App.Helper").Thread(2, 11, 1).Thread(3, 12, 2).ThreadName(12, "worker").Write();
        var perThread = new long[4];
        void Allocs(int from, int to)
        {
            var chunk2 = w.Chunk(2);
            var chunk3 = w.Chunk(3);
            for (var i = from; i < to; i++)
            {
                var chunk = i % 2 == 0 ? chunk2 : chunk3;
                chunk.Alloc((ulong)(10 + i * 2), (ulong)(i % 3 == 0 ? 1 : 0), (ulong)(24 + i % 100), 1 + i % 3 % 2 * 1, (ulong)(0x100000 + i * 256));
                perThread[2 + i % 2]++;
            }
            chunk2.Write(zstd: true);
            chunk3.Write();
        }
        Allocs(0, count / 2);
        var gc = w.Chunk(1).GcStart((ulong)(10 + count), 1, 0, 1, 1).GcEnd((ulong)(11 + count), 1);
        // Every third sequence of stream 2 and every fifth of stream 3 died in GC 1.
        gc.Free(2, Enumerable.Range(0, (int)perThread[2]).Where(s => s % 3 == 0).Select(s => (ulong)s).ToArray());
        gc.Free(3, Enumerable.Range(0, (int)perThread[3]).Where(s => s % 5 == 0).Select(s => (ulong)s).ToArray());
        gc.Write();
        Allocs(count / 2, count);
        var gc2 = w.Chunk(1).GcStart((ulong)(20 + count * 2), 1, 0, 2, 1).GcEnd((ulong)(21 + count * 2), 2);
        gc2.Free(2, Enumerable.Range(0, (int)perThread[2]).Where(s => s % 3 == 1).Select(s => (ulong)s).ToArray());
        gc2.Write();
        w.Chunk(0).Clock((ulong)(30 + count * 2), (ulong)(300 + count * 20)).Write();
        return w;
    }
}

public class ArrowRoundTripTests
{
    public static TheoryData<string> Samples => new() { "stats", "small", "big" };

    private static TestCaptureWriter Sample(string name) => name switch
    {
        "stats" => StatsCapture.Create(),
        "small" => Captures.Small(),
        _ => BigCapture.Create(),
    };

    [Theory]
    [MemberData(nameof(Samples))]
    public void Every_column_of_every_table_round_trips_through_arrow_and_dataframes(string sample)
    {
        using var scratch = new ScratchFolder();
        var path = scratch.Write(sample + ".memnb", Sample(sample));
        var data = SymbolizedCapture.Load(path);
        var capture = LoadedCapture.Load(path);

        var a = data.Allocations;
        var allocations = capture.Allocations;
        Assert.Equal(a.Count, allocations.Rows.Count);
        var osTid = data.Threads.ToDictionary(t => t.StreamId, t => (long)t.OsThreadId);
        for (var i = 0; i < a.Count; i++)
        {
            Assert.Equal((long)i, allocations["id"][i]);
            Assert.Equal(a.ThreadStream.Span[i], allocations["thread_stream"][i]);
            Assert.Equal(osTid[a.ThreadStream.Span[i]], allocations["os_thread_id"][i]);
            Assert.Equal(a.TimestampNs.Span[i], allocations["timestamp_ns"][i]);
            Assert.Equal("managed", allocations["allocator"][i]);
            Assert.Equal(a.Size.Span[i], allocations["size"][i]);
            Assert.Equal(a.TypeIndex.Span[i], allocations["type_id"][i]);
            Assert.Equal(a.StackId.Span[i], allocations["stack_id"][i]);
            Assert.Equal(a.Address.Span[i], allocations["address"][i]);
            var freed = a.FreeTimeNs.Span[i];
            Assert.Equal(freed == -1 ? null : freed, allocations["freed_at_ns"][i]);
        }

        var tables = data.ReadResult.Tables;
        var attribution = new FunctionAttribution(tables);
        var stacks = capture.Stacks;
        Assert.Equal(data.StackNodes.Count, stacks.Rows.Count);
        for (var i = 0; i < data.StackNodes.Count; i++)
        {
            var node = data.StackNodes[i];
            Assert.Equal(node.Id, stacks["stack_id"][i]);
            Assert.Equal(node.ParentId, stacks["parent_id"][i]);
            Assert.Equal(node.Ip, stacks["ip"][i]);
            Assert.Equal(tables.StackIps(node.Id).Count(), stacks["depth"][i]);
            Assert.Equal(attribution.FunctionOf(node.Id), stacks["function"][i]);
        }

        var ips = data.StackNodes.Select(n => n.Ip).Concat(data.Frames.Keys).Distinct().Order().ToArray();
        var frames = capture.Frames;
        Assert.Equal(ips.Length, frames.Rows.Count);
        for (var i = 0; i < ips.Length; i++)
        {
            var frame = tables.Frame(ips[i]);
            Assert.Equal(ips[i], frames["ip"][i]);
            Assert.Equal(ArrowLayout.KindName(frame.Kind), frames["kind"][i]);
            Assert.Equal(MemNotebook.Recorder.Symbols.FrameNaming.Shown(frame.Kind, frame.Function), frames["function"][i]);
            Assert.Equal(frame.Function, frames["raw_function"][i]);
            Assert.Equal(frame.Module, frames["module"][i]);
            Assert.Equal(frame.Offset, frames["offset"][i]);
        }

        var types = capture.Types;
        Assert.Equal(data.Types.Count, types.Rows.Count);
        for (var i = 0; i < data.Types.Count; i++)
        {
            Assert.Equal(data.Types[i].Index, types["type_id"][i]);
            Assert.Equal(data.Types[i].ClassId, types["class_id"][i]);
            Assert.Equal(data.Types[i].Name, types["name"][i]);
            Assert.Equal(data.Types[i].IsArray, types["is_array"][i]);
        }

        var threads = capture.Threads;
        Assert.Equal(data.Threads.Count, threads.Rows.Count);
        for (var i = 0; i < data.Threads.Count; i++)
        {
            Assert.Equal(data.Threads[i].StreamId, threads["thread_stream"][i]);
            Assert.Equal((long)data.Threads[i].OsThreadId, threads["os_thread_id"][i]);
            Assert.Equal(data.Threads[i].ManagedThreadId, threads["managed_thread_id"][i]);
            Assert.Equal(data.Threads[i].Name, threads["name"][i]);
        }

        var timeline = capture.Timeline;
        Assert.Equal(data.Snapshots.Count, timeline.Rows.Count);
        for (var i = 0; i < data.Snapshots.Count; i++)
        {
            var s = data.Snapshots[i];
            Assert.Equal(new object[] { s.TimeNs, s.RssBytes, s.Gen0Bytes, s.Gen1Bytes, s.Gen2Bytes, s.LohBytes, s.PohBytes, s.TrackedLiveBytes },
                Row(timeline, i));
        }

        var gcs = capture.GcEvents;
        Assert.Equal(data.GcEvents.Count, gcs.Rows.Count);
        for (var i = 0; i < data.GcEvents.Count; i++)
        {
            var g = data.GcEvents[i];
            Assert.Equal(new object?[] { g.GcIndex, g.StartNs, g.EndNs, (int)g.Generations, (int)g.Reason, g.PauseNs, g.LiveBytesAtStart,
                g.Gen0Bytes, g.Gen1Bytes, g.Gen2Bytes, g.LohBytes, g.PohBytes }, Row(gcs, i));
        }

        Assert.Equal(data.Complete, capture.Complete);
        Assert.Equal(data.DurationNs, capture.DurationNs);
    }

    private static object?[] Row(DataFrame frame, int row) => frame.Columns.Select(c => c[row]).ToArray();

    [Fact]
    public void String_columns_load_as_mutable_string_columns_that_group_and_filter()
    {
        using var scratch = new ScratchFolder();
        var capture = LoadedCapture.Load(scratch.Write("stats.memnb", StatsCapture.Create()));
        Assert.IsType<StringDataFrameColumn>(capture.Allocations["allocator"]);
        Assert.IsType<StringDataFrameColumn>(capture.Frames["function"]);
        var byKind = capture.Frames.GroupBy("kind").Count();
        Assert.Equal(3, byKind.Rows.Count);
        var managed = capture.Frames.Filter(capture.Frames["kind"].ElementwiseEquals("managed"));
        Assert.Equal(5, managed.Rows.Count);
    }

    [Fact]
    public void A_capture_of_several_batches_writes_batches_of_64k_rows_and_loads_as_one_table()
    {
        using var scratch = new ScratchFolder();
        var path = scratch.Write("big.memnb", BigCapture.Create());
        var conversion = ArrowConverter.Convert(path, Path.Combine(scratch.Root, "out"));
        using (var file = File.OpenRead(ArrowLayout.TablePath(conversion.Folder, ArrowLayout.Allocations)))
        using (var reader = new Apache.Arrow.Ipc.ArrowFileReader(file, ArrowCompression.Codecs))
        {
            var lengths = new List<int>();
            while (reader.ReadNextRecordBatch() is { } batch)
                lengths.Add(batch.Length);
            Assert.Equal(new[] { 65536, 65536, 150_000 - 2 * 65536 }, lengths);
        }
        Assert.Equal(150_000, conversion.Metadata.Allocations);
        // Runs: stream 2's every-third and stream 3's every-fifth frees are runs of one; the second GC's too.
        Assert.Equal(conversion.Metadata.Frees, conversion.FreeRuns);
        var capture = LoadedCapture.Load(conversion.Folder);
        Assert.Equal(150_000, capture.Allocations.Rows.Count);
    }

    [Fact]
    public void The_allocations_table_is_zstd_compressed_and_reads_the_same_through_the_managed_zstd_codec()
    {
        // The tables are compressed by libzstd where it loads: other readers decode them with their own ZSTD (here
        // Apache.Arrow.Compression's managed port), and must see every value the project's own reader sees.
        Assert.True(NativeZstd.Available);
        using var scratch = new ScratchFolder();
        var path = scratch.Write("big.memnb", BigCapture.Create());
        var conversion = ArrowConverter.Convert(path, Path.Combine(scratch.Root, "out"));
        var table = ArrowLayout.TablePath(conversion.Folder, ArrowLayout.Allocations);
        var rawBytes = 0L;
        var ours = new List<Apache.Arrow.RecordBatch>();
        using (var file = File.OpenRead(table))
        using (var reader = new Apache.Arrow.Ipc.ArrowFileReader(file, ArrowCompression.Codecs))
            while (reader.ReadNextRecordBatch() is { } batch)
            {
                ours.Add(batch);
                rawBytes += batch.Arrays.Sum(a => a.Data.Buffers.Sum(b => (long)b.Length));
            }
        // Compressed: the file is far smaller than the buffers it holds.
        Assert.True(new FileInfo(table).Length * 3 < rawBytes, $"{new FileInfo(table).Length} bytes on disk for {rawBytes} in memory");
        using var managed = File.OpenRead(table);
        using var managedReader = new Apache.Arrow.Ipc.ArrowFileReader(managed, new Apache.Arrow.Compression.CompressionCodecFactory());
        var rows = 0;
        for (var b = 0; managedReader.ReadNextRecordBatch() is { } batch; b++)
        {
            Assert.Equal(ours[b].Length, batch.Length);
            for (var c = 0; c < batch.ColumnCount; c++)
            {
                var expected = ours[b].Column(c).Data;
                var actual = batch.Column(c).Data;
                Assert.Equal(expected.NullCount, actual.NullCount);
                for (var k = 0; k < expected.Buffers.Length; k++)
                    Assert.True(expected.Buffers[k].Span.SequenceEqual(actual.Buffers[k].Span), $"batch {b} column {c} buffer {k} differs");
            }
            rows += batch.Length;
        }
        Assert.Equal(150_000, rows);
        Assert.Equal(3, ours.Count);
    }

    [Fact]
    public void Converting_again_into_the_same_folder_or_another_writes_the_same_bytes()
    {
        // Batches are written on a pool thread while the next fills: a buffer reused too early would change bytes.
        using var scratch = new ScratchFolder();
        var path = scratch.Write("big.memnb", BigCapture.Create(300_000));
        var first = ArrowConverter.Convert(path, Path.Combine(scratch.Root, "a"));
        var table = ArrowLayout.TablePath(first.Folder, ArrowLayout.Allocations);
        var bytes = File.ReadAllBytes(table);
        ArrowConverter.Convert(path, first.Folder);
        Assert.Equal(bytes, File.ReadAllBytes(table));
        var other = ArrowConverter.Convert(path, Path.Combine(scratch.Root, "b"));
        foreach (var name in ArrowLayout.TableNames)
            Assert.Equal(File.ReadAllBytes(ArrowLayout.TablePath(first.Folder, name)), File.ReadAllBytes(ArrowLayout.TablePath(other.Folder, name)));
        Assert.Equal(300_000, LoadedCapture.Load(other.Folder).Allocations.Rows.Count);
    }
}
