using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Globalization;
using System.Runtime.CompilerServices;
using MemNotebook.Recorder.Attaching;
using Microsoft.Diagnostics.NETCore.Client;

namespace MemNotebook.Bench;

/// <summary>
/// <c>attach</c>: what an allocation loop (byte[40], 64 bytes each) costs in a process started without the tracer,
/// before, during and after <c>memnb attach</c>, beside the runtime's own AllocationSampled session without any
/// profiler (an EventPipe session of DiagnosticsClient with the same provider, keyword and level, as dotnet-trace
/// would open it; with and without the runtime's stack per event). Phases alternate round by round in one child; each
/// figure is the median over rounds of the best of five timed runs.
/// </summary>
public static class AttachBench
{
    private const long AllocationSampledKeyword = 0x80000000000;
    private static readonly string[] Phases = ["before", "eventpipe, no stacks", "eventpipe, stacks", "memnb attach", "after detach"];

    public static int Run(long count, int rounds)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "MemNotebook.Bench.dll"));
        psi.ArgumentList.Add("attach-child");
        foreach (var name in psi.Environment.Keys.ToList())
            if (name.Contains("PROFIL", StringComparison.Ordinal) || name.StartsWith("MEMNB_", StringComparison.Ordinal))
                psi.Environment.Remove(name);
        using var child = Process.Start(psi)!;
        if (child.StandardOutput.ReadLine() != "ready")
        {
            Console.Error.WriteLine("bench: the attach child did not start");
            return 1;
        }
        var times = Phases.ToDictionary(p => p, _ => new List<double>());
        var cpuTimes = Phases.ToDictionary(p => p, _ => new List<double>());
        var processTimes = Phases.ToDictionary(p => p, _ => new List<double>());
        string? phase = null;
        double Time()
        {
            child.StandardInput.WriteLine($"time {count}");
            child.StandardInput.Flush();
            var answer = child.StandardOutput.ReadLine()!.Split(' ');
            var wall = double.Parse(answer[0], CultureInfo.InvariantCulture);
            if (phase is not null)
            {
                times[phase].Add(wall);
                cpuTimes[phase].Add(double.Parse(answer[1], CultureInfo.InvariantCulture));
                processTimes[phase].Add(double.Parse(answer[2], CultureInfo.InvariantCulture));
            }
            return wall;
        }
        var capture = Path.Combine(Path.GetTempPath(), $"memnb-bench-attach-{Environment.ProcessId}.memnb");
        Time(); // warm: the loop at tier 1
        for (var round = 0; round < rounds; round++)
        {
            phase = "before";
            Time();
            foreach (var stacks in new[] { false, true })
            {
                var client = new DiagnosticsClient(child.Id);
                var providers = new[] { new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Informational, AllocationSampledKeyword) };
                using var session = client.StartEventPipeSession(new EventPipeSessionConfiguration(providers, 64, requestRundown: false, requestStackwalk: stacks));
                var drain = Task.Run(() => session.EventStream.CopyTo(Stream.Null));
                phase = stacks ? "eventpipe, stacks" : "eventpipe, no stacks";
                Time();
                session.Stop();
                drain.Wait();
            }
            File.Delete(capture);
            using (var attach = AttachSession.Start(new AttachOptions { ProcessId = child.Id, OutputPath = capture }))
            {
                phase = "memnb attach";
                Time();
                var result = attach.Stop();
                if (result.Outcome != DetachOutcome.Detached)
                    Console.Error.WriteLine($"bench: round {round + 1}: the tracer did not unload ({result.Outcome} {result.Detail})");
            }
            phase = "after detach";
            Time();
        }
        File.Delete(capture);
        child.StandardInput.WriteLine("exit");
        child.WaitForExit();

        static double Median(List<double> v)
        {
            var s = v.Order().ToList();
            return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
        }
        var before = Median(times["before"]);
        var beforeCpu = Median(cpuTimes["before"]);
        var beforeProcess = Median(processTimes["before"]);
        Console.WriteLine($"attach: {count:N0} allocations of byte[40] per timed run, best of 5 runs, median of {rounds} rounds");
        Console.WriteLine("wall: elapsed time; cpu: the allocating thread's CPU time (not the time it waited for a core); process: the CPU\n" +
            "time of all the child's threads (the runtime's EventPipe thread, the tracer's writer) over all five runs");
        Console.WriteLine($"{"phase",-22} {"wall ns",8} {"ratio",6} {"cpu ns",8} {"ratio",6} {"process",8} {"ratio",6}  wall ns of each round");
        foreach (var p in Phases)
        {
            var m = Median(times[p]);
            var c = Median(cpuTimes[p]);
            var q = Median(processTimes[p]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{p,-22} {m,8:F2} {m / before,6:F2} {c,8:F2} {c / beforeCpu,6:F2} {q,8:F2} {q / beforeProcess,6:F2}  {string.Join(" ", times[p].Select(t => t.ToString("F1", CultureInfo.InvariantCulture)))}"));
        }
        return 0;
    }

    public static volatile object? Sink;

    /// <summary>The child: "ready", then one answer per "time N" line (ns per allocation); "exit" ends it.</summary>
    public static int Child()
    {
        Console.WriteLine("ready");
        string? line;
        while ((line = Console.ReadLine()) is not null && line != "exit")
        {
            long n = long.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture);
            double best = double.MaxValue, bestCpu = double.MaxValue;
            var processCpu = Process.GetCurrentProcess().TotalProcessorTime;
            for (var run = 0; run < 5; run++)
            {
                var cpu = ThreadCpu.Nanoseconds();
                var watch = Stopwatch.StartNew();
                Allocate(n / 5);
                best = Math.Min(best, watch.Elapsed.TotalNanoseconds / (n / 5));
                bestCpu = Math.Min(bestCpu, (ThreadCpu.Nanoseconds() - cpu) / (double)(n / 5));
            }
            var processNs = (Process.GetCurrentProcess().TotalProcessorTime - processCpu).TotalNanoseconds / (n / 5 * 5);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{best:F3} {bestCpu:F3} {processNs:F3}"));
        }
        return 0;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Allocate(long count)
    {
        for (long i = 0; i < count; i++)
            Sink = new byte[40];
    }
}
