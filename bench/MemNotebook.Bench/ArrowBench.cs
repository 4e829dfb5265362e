using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using MemNotebook.Recorder.Arrow;
using Microsoft.Data.Analysis;
using ZstdSharp;

namespace MemNotebook.Bench;

// `arrow [--records N]`: generates a capture of N allocation records (zstd chunks, four threads, a
// GC every 500K allocations freeing most of what came before, in runs as a real GC does), then
// times raw → Arrow (ArrowConverter.Convert) and Arrow → DataFrames (Capture.Load of the folder),
// with the peak working set of each step.
public static class ArrowBench
{
    public static int Run(long records)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"memnb-arrow-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            var capture = Path.Combine(dir, "bench.memnb");
            var sw = Stopwatch.StartNew();
            Generate(capture, records);
            Console.WriteLine($"generated {records:N0} records in {sw.Elapsed.TotalSeconds:F1} s ({new FileInfo(capture).Length / (double)records:F2} B/record)");

            var (readSeconds, _) = Measure(() => MemNotebook.Recorder.Capture.CaptureReader.Read(capture, new NullVisitor()), out var readCpu);
            Console.WriteLine($"read only, first run: {readSeconds:F2} s (CPU {readCpu:F2} s)");
            (readSeconds, _) = Measure(() => MemNotebook.Recorder.Capture.CaptureReader.Read(capture, new NullVisitor()), out readCpu);
            Console.WriteLine($"read only (no visitor work): {readSeconds:F2} s (CPU {readCpu:F2} s), {records / 1e6 / readSeconds:F1} M records/s");
            var folder = Path.Combine(dir, "bench.memnb.arrow");
            var (convertSeconds, convertPeak) = Measure(() => ArrowConverter.Convert(capture, folder), out var convertCpu);
            var arrowBytes = Directory.GetFiles(folder).Sum(f => new FileInfo(f).Length);
            var allocationsFile = ArrowLayout.TablePath(folder, ArrowLayout.Allocations);
            var (tableSeconds, _) = Measure(() => ArrowTableReader.ReadTable(allocationsFile, ArrowLayout.AllocationsSchema).Dispose(), out var tableCpu);
            Capture? loaded = null;
            var (loadSeconds, loadPeak) = Measure(() => loaded = Capture.Load(folder), out var loadCpu);
            DataFrame? frame = null;
            var (frameSeconds, _) = Measure(() => frame = loaded!.Allocations, out var frameCpu);
            var (peakSeconds, _) = Measure(() => loaded!.Peak().TopFunctions(1));
            var millions = records / 1e6;
            Console.WriteLine();
            Console.WriteLine($"{"step",-28} {"seconds",8} {"M records/s",12} {"peak working set",17} {"MiB per M records",18} {"CPU s",7}");
            Console.WriteLine($"{"raw -> Arrow (convert)",-28} {convertSeconds,8:F2} {millions / convertSeconds,12:F1} {convertPeak / 1048576.0,13:F0} MiB {convertPeak / 1048576.0 / millions,18:F1} {convertCpu,7:F2}");
            Console.WriteLine($"{"Arrow -> DataFrame (Load)",-28} {loadSeconds,8:F2} {millions / loadSeconds,12:F1} {loadPeak / 1048576.0,13:F0} MiB {loadPeak / 1048576.0 / millions,18:F1} {loadCpu,7:F2}");
            Console.WriteLine($"{"  of which allocations table",-28} {tableSeconds,8:F2} {millions / tableSeconds,12:F1} {"",17} {"",18} {tableCpu,7:F2}  (ReadTable alone, measured separately)");
            Console.WriteLine($"{"first .Allocations (frame)",-28} {frameSeconds,8:F2} {millions / frameSeconds,12:F1} {"",17} {"",18} {frameCpu,7:F2}  (string columns decoded)");
            Console.WriteLine($"{"Peak().TopFunctions(1)",-28} {peakSeconds,8:F2} {millions / peakSeconds,12:F1}");
            Console.WriteLine();
            Console.WriteLine($"Arrow folder: {arrowBytes / 1048576.0:F0} MiB ({arrowBytes / (double)records:F1} B/record); DataFrame rows: {frame!.Rows.Count:N0}");
            Console.WriteLine("peak working set = largest process working set sampled every 5 ms during the step (the process's baseline included).");
            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    internal static (double Seconds, long PeakWorkingSet) Measure(Action action) => Measure(action, out _);

    /// <param name="cpuSeconds">CPU time of the whole process during the step (all threads, GC included): steadier than wall time on a loaded machine.</param>
    internal static (double Seconds, long PeakWorkingSet) Measure(Action action, out double cpuSeconds)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long peak = 0;
        var done = false;
        var sampler = new Thread(() =>
        {
            using var self = Process.GetCurrentProcess();
            while (!Volatile.Read(ref done))
            {
                self.Refresh();
                peak = Math.Max(peak, self.WorkingSet64);
                Thread.Sleep(5);
            }
        }) { IsBackground = true };
        sampler.Start();
        using var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        action();
        sw.Stop();
        process.Refresh();
        cpuSeconds = (process.TotalProcessorTime - cpuBefore).TotalSeconds;
        Volatile.Write(ref done, true);
        sampler.Join();
        return (sw.Elapsed.TotalSeconds, peak);
    }

    sealed class NullVisitor : MemNotebook.Recorder.Capture.CaptureVisitor;

    const int Threads = 4;
    const int PerChunk = 50_000;
    const int GcEvery = 500_000;

    /// <summary>
    /// Writes a synthetic capture of <paramref name="records"/> allocations. By default 200 stacks of depth 1–2
    /// over 200 functions; with <paramref name="leafStacks"/> a realistic call tree instead: that many distinct leaf
    /// stacks of depth 5–30 over <paramref name="functions"/> names, sharing prefixes, used with a skewed frequency.
    /// </summary>
    internal static void Generate(string path, long records, int leafStacks = 0, int functions = 2_000)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        var header = new byte[32];
        "MEMNBCAP"u8.CopyTo(header);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), 32);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(16), 1);
        file.Write(header);
        using var compressor = new Compressor(1);
        var meta = new Payload();
        meta.Byte(0x10).V(1000).V(0).Byte(4);
        for (var t = 0; t < 20; t++)
            meta.Byte(0x11).V((ulong)t).V((ulong)(0x1000 + t)).S($"Bench.Type{t}").V(t % 4 == 0 ? 1UL : 0);
        int[] leaves;
        var shape = new Random(7);
        if (leafStacks == 0)
        {
            for (var s = 1; s <= 200; s++)
                meta.Byte(0x12).V((ulong)s).V(s <= 10 ? 0UL : (ulong)(s % 10 + 1)).V((ulong)(0x10000 + s * 16));
            for (var s = 1; s <= 200; s++)
                meta.Byte(0x13).V((ulong)(0x10000 + s * 16)).Byte(0).S($"Bench.Method{s}").S("Bench.dll").V((ulong)(s * 16));
            leaves = Enumerable.Range(1, 200).ToArray();
        }
        else
        {
            for (var f = 1; f <= functions; f++)
                meta.Byte(0x13).V((ulong)(0x10000 + f * 16)).Byte(0).S($"Bench.Ns{f % 37}.Type{f % 211}.Method{f}").S("Bench.dll").V((ulong)(f * 16));
            // A trie of stack nodes (index 0 = the root, not written): each leaf extends a random existing
            // node (shortened to below its depth) with new frames, so stacks share prefixes as real ones do.
            var parentOf = new List<int> { 0 };
            var depthOf = new List<int> { 0 };
            leaves = new int[leafStacks];
            for (var l = 0; l < leafStacks; l++)
            {
                var depth = 5 + shape.Next(0, 26);
                var at = shape.Next(0, parentOf.Count);
                while (depthOf[at] >= depth)
                    at = parentOf[at];
                while (depthOf[at] < depth)
                {
                    var id = parentOf.Count;
                    var r = shape.NextDouble();
                    var function = 1 + (int)(functions * r * r);
                    parentOf.Add(at);
                    depthOf.Add(depthOf[at] + 1);
                    meta.Byte(0x12).V((ulong)id).V((ulong)at).V((ulong)(0x10000 + function * 16));
                    at = id;
                }
                leaves[l] = at;
                if (l % 5_000 == 4_999)
                    meta.Flush(file, 0, compressor);
            }
        }
        for (var t = 0; t < Threads; t++)
            meta.Byte(0x14).V((ulong)(2 + t)).V((ulong)(5000 + t)).V((ulong)(t + 1));
        meta.Flush(file, 0, compressor);

        var ticks = new ulong[Threads];
        var stacks = new long[Threads];
        var next = new ulong[Threads];
        var counts = new long[Threads];
        var freedUpTo = new long[Threads];
        var thread = new Payload[Threads];
        for (var t = 0; t < Threads; t++)
        {
            thread[t] = new Payload();
            next[t] = (ulong)(t + 1) << 32;
        }
        ulong now = 1000, gcIndex = 0;
        var gc = new Payload();
        ulong gcTicks = 0;
        var random = new Random(42);
        for (long i = 0; i < records;)
        {
            var t = (int)(i / PerChunk % Threads);
            var p = thread[t];
            for (var k = 0; k < PerChunk && i < records; k++, i++)
            {
                now += 3;
                var size = (ulong)(24 + random.Next(0, 8) * 8);
                long stack;
                if (leafStacks == 0)
                    stack = 1 + random.Next(0, 200);
                else
                {
                    var pick = random.NextDouble();
                    stack = leaves[(int)(leaves.Length * pick * pick)];
                }
                var address = next[t] + (ulong)(random.Next(0, 4) == 0 ? 64 : 0);
                p.Byte(0x01).V(now - ticks[t]).V((ulong)random.Next(0, 20)).V(size).Z(stack - stacks[t]).Z((long)(address - next[t]));
                ticks[t] = now;
                stacks[t] = stack;
                next[t] = address + size;
                counts[t]++;
                if ((i + 1) % GcEvery == 0)
                {
                    for (var u = 0; u < Threads; u++)
                        thread[u].Flush(file, (uint)(2 + u), compressor);
                    gcIndex++;
                    now += 10;
                    gc.Byte(0x20).V(now - gcTicks).Byte(1).Byte(0).V(gcIndex).V(0);
                    gcTicks = now;
                    now += 10;
                    gc.Byte(0x21).V(now - gcTicks).V(gcIndex).V(0).V(0).V(0).V(0).V(0);
                    gcTicks = now;
                    // Nine of ten objects since the last GC die, in runs of nine.
                    for (var u = 0; u < Threads; u++)
                    {
                        var dead = new List<long>();
                        for (var s = freedUpTo[u]; s < counts[u]; s++)
                            if (s % 10 != 9) dead.Add(s);
                        freedUpTo[u] = counts[u];
                        if (dead.Count == 0) continue;
                        gc.Byte(0x24).V((ulong)(2 + u)).V((ulong)dead.Count).V((ulong)dead[0]);
                        for (var d = 1; d < dead.Count; d++)
                            gc.V((ulong)(dead[d] - dead[d - 1]));
                    }
                    gc.Flush(file, 1, compressor);
                }
            }
            p.Flush(file, (uint)(2 + t), compressor);
        }
        meta.Byte(0x10).V(now + 10 - 1000).V((now + 10 - 1000) * 16).Byte(4);
        meta.Byte(0x17).V(0).V((ulong)records).V(0).V(0).V(0);
        meta.Flush(file, 0, compressor);
    }

    sealed class Payload
    {
        readonly MemoryStream bytes = new();

        public Payload Byte(byte b) { bytes.WriteByte(b); return this; }

        public Payload V(ulong value)
        {
            while (value >= 0x80) { bytes.WriteByte((byte)(value | 0x80)); value >>= 7; }
            bytes.WriteByte((byte)value);
            return this;
        }

        public Payload Z(long value) => V((ulong)((value << 1) ^ (value >> 63)));

        public Payload S(string value)
        {
            var utf8 = System.Text.Encoding.UTF8.GetBytes(value);
            V((ulong)utf8.Length);
            bytes.Write(utf8);
            return this;
        }

        public void Flush(Stream file, uint stream, Compressor compressor)
        {
            if (bytes.Length == 0) return;
            var raw = bytes.ToArray();
            var stored = compressor.Wrap(raw).ToArray();
            var header = new byte[20];
            BinaryPrimitives.WriteUInt32LittleEndian(header, 0x4B4E4843);
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), stream);
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), (uint)stored.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), (uint)raw.Length);
            header[16] = 1;
            file.Write(header);
            file.Write(stored);
            bytes.SetLength(0);
        }
    }
}
