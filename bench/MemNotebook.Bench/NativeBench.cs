using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace MemNotebook.Bench;

// `bench native`: a C loop of malloc/free pairs of mixed sizes (memnb_test_malloc_loop in
// native/tests/nativelib) timed untraced and under our tracer with native tracking (both in a
// .NET process that calls the C library), and as a plain C program untraced and under heaptrack;
// then a managed allocation loop that makes no native allocations, recorded with native
// tracking on and off. Loop time only (the median of three runs each).
internal static class NativeBench
{
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    delegate ulong LoopFunction(ulong count);

    static LoopFunction? loop;

    static string TestNativeDir =>
        Environment.GetEnvironmentVariable("MEMNB_BENCH_TESTNATIVE_DIR")
        ?? Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../artifacts/native-build/Release/testnative"));

    // The child's workload: count malloc/free pairs in C.
    public static void MallocLoop(long count)
    {
        loop ??= Marshal.GetDelegateForFunctionPointer<LoopFunction>(
            NativeLibrary.GetExport(NativeLibrary.Load(Path.Combine(TestNativeDir, "libmemnb_testnative.so")), "memnb_test_malloc_loop"));
        loop((ulong)count);
    }

    public static int Run(long pairs)
    {
        string tracer = Path.Combine(AppContext.BaseDirectory, "libmemnb_tracer.so");
        string program = Path.Combine(TestNativeDir, "memnb_malloc_loop");
        if (!File.Exists(tracer) || !File.Exists(program))
        {
            Console.Error.WriteLine($"bench: {tracer} or {program} is missing; build the solution first");
            return 1;
        }
        const int repeats = 3;
        Environment.SetEnvironmentVariable("MEMNB_BENCH_ALLOC_COUNT", pairs.ToString(CultureInfo.InvariantCulture));
        var env = new Dictionary<string, string> { ["MEMNB_BENCH_TESTNATIVE_DIR"] = TestNativeDir };
        Console.WriteLine($"MemNotebook native benchmark ({repeats} runs each, median loop time; {pairs / 1_000_000.0:0.#}M malloc/free pairs, sizes 16 B to 4 KB)");
        Console.WriteLine();
        var untraced = Program.Median(repeats, () => Program.Run("native", "untraced", tracer, env));
        var traced = Program.Median(repeats, () => Program.Run("native", "traced-native", tracer, env));
        double plain = Median(repeats, () => RunProgram(program, pairs, heaptrack: false));
        double heaptrack = Median(repeats, () => RunProgram(program, pairs, heaptrack: true));
        Console.WriteLine($"{"C loop",-34} {"ms",10} {"vs untraced",12}");
        Console.WriteLine($"{"untraced (.NET process)",-34} {untraced.LoopMs,10:F0} {1.0,11:F2}x");
        Console.WriteLine($"{"memnb --native (.NET process)",-34} {traced.LoopMs,10:F0} {traced.LoopMs / untraced.LoopMs,11:F2}x   ({traced.Allocations:N0} records, {(double)traced.CaptureBytes / Math.Max(1UL, traced.Allocations):F2} B/record)");
        Console.WriteLine($"{"untraced (C program)",-34} {plain,10:F0} {1.0,11:F2}x");
        Console.WriteLine($"{"heaptrack (C program)",-34} {heaptrack,10:F0} {heaptrack / plain,11:F2}x");
        Console.WriteLine($"memnb / heaptrack (each against its own untraced run): {(traced.LoopMs / untraced.LoopMs) / (heaptrack / plain):F2}");
        Console.WriteLine();

        Environment.SetEnvironmentVariable("MEMNB_BENCH_ALLOC_COUNT", "20000000");
        var managedOff = Program.Median(repeats, () => Program.Run("alloc", "traced", tracer));
        var managedOn = Program.Median(repeats, () => Program.Run("alloc", "traced-native", tracer));
        Console.WriteLine("Managed loop (20M small objects, no native allocations), recorded:");
        Console.WriteLine($"{"native tracking off",-34} {managedOff.LoopMs,10:F0}");
        Console.WriteLine($"{"native tracking on",-34} {managedOn.LoopMs,10:F0} {managedOn.LoopMs / managedOff.LoopMs,11:F2}x");
        return 0;
    }

    static double Median(int repeats, Func<double> run)
    {
        var values = Enumerable.Range(0, repeats).Select(_ => run()).OrderBy(v => v).ToList();
        return values[values.Count / 2];
    }

    static double RunProgram(string program, long pairs, bool heaptrack)
    {
        var output = Path.Combine(Path.GetTempPath(), $"memnb-bench-heaptrack-{Environment.ProcessId}");
        var psi = new ProcessStartInfo(heaptrack ? "heaptrack" : program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (heaptrack)
        {
            psi.ArgumentList.Add("--output");
            psi.ArgumentList.Add(output);
            psi.ArgumentList.Add(program);
        }
        psi.ArgumentList.Add(pairs.ToString(CultureInfo.InvariantCulture));
        using var child = Process.Start(psi)!;
        var stderr = child.StandardError.ReadToEndAsync();
        string stdout = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        foreach (var file in Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(output) + "*"))
            File.Delete(file);
        if (child.ExitCode != 0) throw new InvalidOperationException($"{psi.FileName} exited with {child.ExitCode}: {stderr.Result}");
        var line = stdout.Split('\n').First(l => l.Contains("loop_ms", StringComparison.Ordinal));
        return JsonDocument.Parse(line).RootElement.GetProperty("loop_ms").GetDouble();
    }
}
