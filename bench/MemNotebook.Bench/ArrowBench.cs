using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using MemNotebook.Recorder.Arrow;
using Microsoft.Data.Analysis;
using ZstdSharp;

namespace MemNotebook.Bench;

// `arrow [--records N]`: generates a capture of N allocation records (zstd chunks, four threads, a
// GC every 500K allocations freeing most of what came before, in runs as a real GC does), then
// times raw → Arrow (ArrowConverter.Convert) and Arrow → DataFrames (Capture.Load of the folder):
// five times in this process (median; the first run pays the JIT), and five times each in a fresh
// process (what `memnb transform arrow` and a new kernel pay), with the peak working set. Before each
// conversion the dirty pages of earlier ones are written back (sync): the figures are the conversion's,
// not those of the disk absorbing the previous run's 700 MB (which the kernel writes back afterwards).
public static class ArrowBench
{
    const int Runs = 5;

    public static int Run(long records)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"memnb-arrow-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            var capture = Path.Combine(dir, "bench.memnb");
            var sw = Stopwatch.StartNew();
            Generate(capture, records);
            Console.WriteLine($"generated {records:N0} records in {sw.Elapsed.TotalSeconds:F1} s ({new FileInfo(capture).Length / (double)records:F2} B/record), {Environment.ProcessorCount} cores");
            var millions = records / 1e6;

            // Fresh processes first, while this one has not touched the capture's code paths (the page cache is warm for both).
            // Each output but the first is deleted at once, and dirty pages are written back before each run: 700 MB
            // tables written back to back would otherwise throttle each other's writes (a run then measures the disk).
            var freshConvert = new List<double[]>();
            for (var i = 0; i < Runs; i++)
            {
                var into = Path.Combine(dir, $"fresh-{i}.arrow");
                Sync();
                freshConvert.Add(Child("convert", capture, into));
                if (i > 0)
                    Directory.Delete(into, recursive: true);
            }
            var folder = Path.Combine(dir, "fresh-0.arrow");
            Sync();
            var freshLoad = Enumerable.Range(0, Runs).Select(_ => Child("load", folder)).ToList();

            MemNotebook.Recorder.Format.CaptureReader.Read(capture, new NullVisitor());
            var (readSeconds, _) = Measure(() => MemNotebook.Recorder.Format.CaptureReader.Read(capture, new NullVisitor()), out var readCpu);
            Console.WriteLine($"read only, second run (no visitor work): {readSeconds:F2} s (CPU {readCpu:F2} s), {millions / readSeconds:F1} M records/s");

            var converts = new List<(double Seconds, long Peak, double Cpu)>();
            for (var i = 0; i < Runs; i++)
            {
                var into = Path.Combine(dir, $"in-process-{i}.arrow");
                Sync();
                var (seconds, peak) = Measure(() => ArrowConverter.Convert(capture, into), out var cpu);
                converts.Add((seconds, peak, cpu));
                if (i > 0)
                    Directory.Delete(into, recursive: true);
            }
            var arrowBytes = Directory.GetFiles(folder).Sum(f => new FileInfo(f).Length);
            var allocationsFile = ArrowLayout.TablePath(folder, ArrowLayout.Allocations);
            var (tableSeconds, _) = Measure(() => ArrowTableReader.ReadTable(allocationsFile, ArrowLayout.AllocationsSchema).Dispose(), out var tableCpu);
            Capture? loaded = null;
            var (loadSeconds, loadPeak) = Measure(() => loaded = Capture.Load(folder), out var loadCpu);
            DataFrame? frame = null;
            var (frameSeconds, _) = Measure(() => frame = loaded!.Allocations, out var frameCpu);
            var (peakSeconds, _) = Measure(() => loaded!.Peak().TopFunctions(1));

            var warm = converts.Skip(1).Select(c => c.Seconds).Order().ToList();
            var fresh = freshConvert.Select(c => c[0]).Order().ToList();
            Console.WriteLine();
            Console.WriteLine($"{"raw -> Arrow (convert)",-40} {"seconds",8} {"M records/s",12} {"range (s)",14}");
            Console.WriteLine($"{"  in this process, runs 2-5 (median)",-40} {Median(warm),8:F2} {millions / Median(warm),12:F1} {warm[0],6:F2}-{warm[^1]:F2}");
            Console.WriteLine($"{"  in this process, run 1 (JIT)",-40} {converts[0].Seconds,8:F2} {millions / converts[0].Seconds,12:F1}");
            Console.WriteLine($"{"  fresh process (median of 5)",-40} {Median(fresh),8:F2} {millions / Median(fresh),12:F1} {fresh[0],6:F2}-{fresh[^1]:F2}");
            Console.WriteLine($"  peak working set {converts[0].Peak / 1048576.0:F0} MiB ({converts[0].Peak / 1048576.0 / millions:F1} MiB per M records); CPU {Median(converts.Skip(1).Select(c => c.Cpu).Order().ToList()):F2} s a run (all threads)");
            Console.WriteLine();
            var loads = freshLoad.Select(l => l[0]).Order().ToList();
            var frames = freshLoad.Select(l => l[1]).Order().ToList();
            var answers = freshLoad.Select(l => l[2]).Order().ToList();
            var totals = freshLoad.Select(l => l[0] + l[1] + l[2]).Order().ToList();
            Console.WriteLine($"{"Arrow -> DataFrame",-40} {"seconds",8} {"M records/s",12} {"range (s)",14}");
            Console.WriteLine($"{"  fresh process: Capture.Load",-40} {Median(loads),8:F2} {millions / Median(loads),12:F1} {loads[0],6:F2}-{loads[^1]:F2}");
            Console.WriteLine($"{"  fresh process: first .Allocations",-40} {Median(frames),8:F2} {"",12} {frames[0],6:F2}-{frames[^1]:F2}");
            Console.WriteLine($"{"  fresh process: Peak().TopFunctions(1)",-40} {Median(answers),8:F2} {"",12} {answers[0],6:F2}-{answers[^1]:F2}");
            Console.WriteLine($"{"  fresh process: all three",-40} {Median(totals),8:F2} {"",12} {totals[0],6:F2}-{totals[^1]:F2}");
            Console.WriteLine($"{"  in this process: Capture.Load",-40} {loadSeconds,8:F2} {millions / loadSeconds,12:F1}  peak working set {loadPeak / 1048576.0:F0} MiB ({loadPeak / 1048576.0 / millions:F1} MiB per M records), CPU {loadCpu:F2} s");
            Console.WriteLine($"{"    of which allocations table",-40} {tableSeconds,8:F2} {millions / tableSeconds,12:F1}  (ReadTable alone, measured separately; CPU {tableCpu:F2} s)");
            Console.WriteLine($"{"  in this process: first .Allocations",-40} {frameSeconds,8:F2} {"",12}  (string and boolean columns decoded; CPU {frameCpu:F2} s)");
            Console.WriteLine($"{"  in this process: Peak().TopFunctions(1)",-40} {peakSeconds,8:F2}");
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

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "sync")]
    static extern void Sync();

    static double Median(IReadOnlyList<double> sorted) => sorted[sorted.Count / 2];

    /// <summary>`arrow-child convert CAPTURE FOLDER` or `arrow-child load FOLDER` in a new process: the seconds of each step.</summary>
    static double[] Child(params string[] args)
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Environment.ProcessPath!.EndsWith("dotnet", StringComparison.Ordinal))
            psi.ArgumentList.Add(typeof(ArrowBench).Assembly.Location);
        psi.ArgumentList.Add("arrow-child");
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        using var child = Process.Start(psi)!;
        var output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        if (child.ExitCode != 0)
            throw new InvalidOperationException($"arrow-child {string.Join(' ', args)} exited with {child.ExitCode}: {output}");
        return output.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
    }

    /// <summary>The child's side: one step timed from inside the process (runtime start-up excluded).</summary>
    public static int RunChild(string[] args)
    {
        var sw = Stopwatch.StartNew();
        if (args[0] == "convert")
        {
            ArrowConverter.Convert(args[1], args[2]);
            Console.WriteLine(sw.Elapsed.TotalSeconds.ToString("R", CultureInfo.InvariantCulture));
            return 0;
        }
        var loaded = Capture.Load(args[1]);
        var load = sw.Elapsed.TotalSeconds;
        sw.Restart();
        _ = loaded.Allocations;
        var frame = sw.Elapsed.TotalSeconds;
        sw.Restart();
        _ = loaded.Peak().TopFunctions(1);
        var answer = sw.Elapsed.TotalSeconds;
        Console.WriteLine(string.Join(' ', new[] { load, frame, answer }.Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
        return 0;
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

    sealed class NullVisitor : MemNotebook.Recorder.Format.CaptureVisitor;

    const int Threads = 4;
    const int PerChunk = 50_000;
    const int GcEvery = 500_000;

    /// <summary>
    /// Writes a synthetic capture of <paramref name="records"/> allocations. By default 200 stacks of depth 1–2
    /// over 200 functions; with <paramref name="leafStacks"/> a realistic call tree instead: that many distinct leaf
    /// stacks of depth 5–30 over <paramref name="functions"/> names, sharing prefixes, used with a skewed frequency.
    /// </summary>
    internal static void Generate(string path, long records, int leafStacks = 0, int functions = 2_000, bool cell = false)
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
            if (cell)
            {
                // Every stack under a notebook cell's code (Submission#1), as a #!memprofile cell's are.
                meta.Byte(0x13).V(0x8000).Byte(0).S("Submission#1.<Initialize>").S("Bench.dll").V(16);
                meta.Byte(0x12).V(1).V(0).V(0x8000);
                parentOf.Add(0);
                depthOf.Add(1);
            }
            leaves = new int[leafStacks];
            for (var l = 0; l < leafStacks; l++)
            {
                var depth = 5 + shape.Next(0, 26);
                var at = shape.Next(0, parentOf.Count);
                while (depthOf[at] >= depth)
                    at = parentOf[at];
                if (cell && at == 0)
                    at = 1;
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
        // Bytes allocated and freed so far, and per thread the bytes of the objects since its last GC that the next GC
        // frees: GC_START and END carry the live bytes (allocated − freed), as the tracer writes them.
        long allocatedBytes = 0, freedBytes = 0, freedCount = 0;
        var dyingBytes = new long[Threads];
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
                allocatedBytes += (long)size;
                if (counts[t] % 10 != 9)
                    dyingBytes[t] += (long)size;
                counts[t]++;
                if ((i + 1) % GcEvery == 0)
                {
                    for (var u = 0; u < Threads; u++)
                        thread[u].Flush(file, (uint)(2 + u), compressor);
                    gcIndex++;
                    now += 10;
                    gc.Byte(0x20).V(now - gcTicks).Byte(1).Byte(0).V(gcIndex).V((ulong)(allocatedBytes - freedBytes));
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
                        freedBytes += dyingBytes[u];
                        freedCount += dead.Count;
                        dyingBytes[u] = 0;
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
        meta.Byte(0x17).V(0).V((ulong)records).V((ulong)freedCount).V((ulong)(allocatedBytes - freedBytes)).V(0);
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
