using System.Diagnostics;
using System.Net;
using System.Reflection;
using MemNotebook.Recorder.Format;
using MemNotebook.Recorder.Launching;
using MemNotebook.Recorder.Tracing;
using Xunit;
using Xunit.Abstractions;

namespace MemNotebook.Recorder.Tests.Cli;

/// <summary>
/// memnb attach on samples/OrderServer, an ASP.NET Core minimal API started without any profiler variables, while an
/// HttpClient in the test keeps requesting /orders/200.
/// </summary>
public sealed class AttachAspNetTests(ITestOutputHelper log)
{
    private const string Handler = "MemNotebook.Samples.OrderServer.OrderHandler.";
    private const string OneOrder = """[{"Id":0,"Customer":"customer-0","Amount":0.00,"Lines":["item-0-0","item-0-1","item-0-2","item-0-3"]}]""";

    private static string ServerPath =>
        typeof(AttachAspNetTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "OrderServerPath").Value!;

    [Fact]
    public async Task A_server_under_load_is_recorded_in_its_handler_keeps_answering_and_is_left_without_the_tracer()
    {
        Assert.True(File.Exists(ServerPath), $"sample server missing: {ServerPath}");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(ServerPath);
        foreach (var name in psi.Environment.Keys.ToList())
            if (name.Contains("PROFIL", StringComparison.Ordinal) || name.StartsWith("MEMNB_", StringComparison.Ordinal) || name.EndsWith("URLS", StringComparison.Ordinal))
                psi.Environment.Remove(name);
        using var server = Process.Start(psi)!;
        try
        {
            var first = await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.NotNull(first);
            Assert.StartsWith("listening http://127.0.0.1:", first);
            using var http = new HttpClient { BaseAddress = new Uri(first["listening ".Length..]), Timeout = TimeSpan.FromSeconds(10) };
            Assert.Equal(OneOrder, await http.GetStringAsync("/orders/1"));

            // The load: one client sending requests back to back until told to stop; every answer is checked.
            using var stopLoad = new CancellationTokenSource();
            long answered = 0, failed = 0;
            var load = Task.Run(async () =>
            {
                while (!stopLoad.IsCancellationRequested)
                {
                    using var response = await http.GetAsync("/orders/200");
                    var body = await response.Content.ReadAsStringAsync();
                    if (response.StatusCode == HttpStatusCode.OK && body.StartsWith("[{\"Id\":0,", StringComparison.Ordinal) && body.EndsWith("\"item-199-3\"]}]", StringComparison.Ordinal))
                        Interlocked.Increment(ref answered);
                    else
                        Interlocked.Increment(ref failed);
                }
            });
            // Warm: the handler's methods reach tier 1 (see below for the frames of a method still on its OSR version).
            await Task.Delay(2000);

            using var cli = new CliHarness();
            var path = cli.PathOf("server.memnb");
            var beforeAttach = Interlocked.Read(ref answered);
            var result = await Task.Run(() => CliHarness.Run("attach", server.Id.ToString(), "-o", path, "--duration", "3s"));
            var duringAttach = Interlocked.Read(ref answered) - beforeAttach;
            await Task.Delay(500);
            var afterDetach = Interlocked.Read(ref answered) - beforeAttach - duringAttach;
            stopLoad.Cancel();
            await load;

            Assert.True(result.ExitCode == 0, result.Err);
            var lines = result.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(3, lines.Length);
            Assert.StartsWith($"memnb: recording process {server.Id} (dotnet) into {path} (attached in ", lines[0]);
            Assert.Equal($"memnb: detached from process {server.Id}: hooks removed and the tracer unloaded", lines[1]);
            Assert.Equal(0, Interlocked.Read(ref failed));
            Assert.True(duringAttach > 0, "no request was answered while recording");
            Assert.True(afterDetach > 0, "no request was answered after the detach");
            Assert.False(server.HasExited);
            Assert.DoesNotContain(TracerLocation.FileName, File.ReadAllText($"/proc/{server.Id}/maps"));
            Assert.Equal(OneOrder, await http.GetStringAsync("/orders/1"));

            // The samples of the handler: BuildOrders' own allocations (orders, their line arrays) under Render,
            // under the endpoint's request delegate.
            var capture = CaptureData.Load(path);
            Assert.True(capture.ReadResult.Header.IsSampled);
            var stacks = capture.Allocations.StackId.ToArray();
            var types = capture.Allocations.TypeIndex.ToArray();
            int underHandler = 0, ownBuildOrders = 0, osr = 0;
            var ownTypes = new HashSet<string>();
            for (var i = 0; i < stacks.Length; i++)
            {
                var frames = capture.StackFrames(stacks[i]).Select(f => f.Function).ToList();
                int build = frames.IndexOf(Handler + "BuildOrders");
                int render = frames.IndexOf(Handler + "Render");
                // A process memnb did not start keeps on-stack replacement on (memnb run turns it off): a loop moved to
                // optimized code while it runs has a frame whose record names its tier-0 code, not its caller; the
                // walkers repair it (docs/architecture.md, "On-stack replacement"). Followed as is, it showed its
                // method twice and skipped the caller (65 of 1,210 samples once).
                int twice = frames.FindIndex(f => f.StartsWith(Handler, StringComparison.Ordinal));
                if (twice >= 0 && twice + 1 < frames.Count && frames[twice + 1] == frames[twice])
                    osr++;
                if (render < 0)
                {
                    Assert.True(build < 0, $"BuildOrders without Render: {string.Join(" <- ", frames)}");
                    continue;
                }
                underHandler++;
                if (build >= 0)
                    Assert.Equal(build + 1, render); // Render calls BuildOrders
                if (build == 0)
                {
                    ownBuildOrders++;
                    ownTypes.Add(capture.TypeName(types[i]));
                }
            }
            log.WriteLine($"{duringAttach:N0} requests answered while recording, {afterDetach:N0} in 0.5 s after; {stacks.Length:N0} samples, " +
                $"{underHandler:N0} under OrderHandler.Render, {ownBuildOrders:N0} in BuildOrders itself ({string.Join(", ", ownTypes)}), {osr:N0} in an OSR frame");
            Assert.Equal(0, osr);
            Assert.True(ownBuildOrders > 0, "no sample in OrderHandler.BuildOrders");
            Assert.Contains("MemNotebook.Samples.OrderServer.Order", ownTypes);
            // What BuildOrders itself allocates (samples: any of them may be missed, none may be another's).
            Assert.Subset(new HashSet<string>
            {
                "MemNotebook.Samples.OrderServer.Order", "System.String[]", "MemNotebook.Samples.OrderServer.Order[]", "System.String",
                "System.Collections.Generic.List<MemNotebook.Samples.OrderServer.Order>",
            }, ownTypes);
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill();
                server.WaitForExit();
            }
        }
    }
}
