using System.Diagnostics;
using System.Text.Json;
using MemNotebook.Recorder.Reports;
using MemNotebook.Recorder.Tests.Arrow;
using Xunit;
using LoadedCapture = MemNotebook.Capture;

namespace MemNotebook.Recorder.Tests.Reports;

/// <summary>
/// The flame-graph page's script, run by node against a small fake DOM (tests/flamegraph-js/smoke.mjs):
/// what it draws after a search, a zoom, hiding runtime frames, a reset, flipping orientation, a tooltip
/// and a thread filter. Not a browser: layout, CSS and the policy are left to a headless-browser test.
/// </summary>
public class FlameGraphScriptTests
{
    private static string SmokeScript
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "tests", "flamegraph-js", "smoke.mjs");
                if (File.Exists(candidate))
                    return candidate;
            }
            throw new InvalidOperationException("tests/flamegraph-js/smoke.mjs not found above " + AppContext.BaseDirectory);
        }
    }

    internal static JsonElement Drive(FlameTree tree, ScratchFolder scratch)
    {
        var page = Path.Combine(scratch.Root, "flame.html");
        File.WriteAllText(page, FlameGraphPage.ToHtml(tree, "r.memnb"));
        var psi = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(SmokeScript);
        psi.ArgumentList.Add(page);
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"node smoke.mjs failed: {stderr.Result}");
        return JsonDocument.Parse(stdout).RootElement.Clone();
    }

    private static LoadedCapture Load(ScratchFolder scratch) => LoadedCapture.Load(scratch.Write("r.memnb", ReportCaptures.Create()));

    /// <summary>Each drawn frame as "name kind-classes top".</summary>
    private static string[] Frames(JsonElement step) => step.GetProperty("frames").EnumerateArray()
        .Select(f => $"{f.GetProperty("name").GetString()} [{f.GetProperty("className").GetString()}] {f.GetProperty("top").GetString()}")
        .ToArray();

    [Fact]
    public void Script_draws_searches_zooms_hides_runtime_frames_and_flips_orientation()
    {
        using var scratch = new ScratchFolder();
        var steps = Drive(FlameTree.Build(Load(scratch), ReportSelection.Peak), scratch);

        var initial = steps.GetProperty("initial");
        // Flame orientation by default: the root on the bottom row (5 rows of 18 px).
        Assert.Equal(new[]
        {
            "all [frame root] 72px",
            "[no stack] [frame unknown] 54px",
            "App.Main [frame managed] 54px",
            ReportCaptures.LambdaShown + " [frame managed] 36px",
            ReportCaptures.MarkupMethod + " [frame managed] 18px",
            "App.Load [frame managed] 18px",
            "App.Parse [frame managed] 36px",
            "native_helper [frame native] 18px",
            "App.Load [frame managed] 0px",
        }, Frames(initial));
        Assert.Equal("90px", initial.GetProperty("height").GetString());
        // The "Icicle" toggle (its label is the page's) is off.
        Assert.Equal("false", initial.GetProperty("orient_pressed").GetString());
        Assert.True(initial.GetProperty("reset_disabled").GetBoolean());
        // Frames narrower than a label show none.
        Assert.Equal("", initial.GetProperty("frames")[4].GetProperty("label").GetString());
        var main = initial.GetProperty("frames")[2];
        Assert.Equal(("0px", 3128 * 1000.0 / 3136 - 1), (main.GetProperty("left").GetString(), double.Parse(main.GetProperty("width").GetString()!.TrimEnd('p', 'x'), System.Globalization.CultureInfo.InvariantCulture)));

        var search = steps.GetProperty("search");
        Assert.Equal("matched 2 frames: 2.9 KiB (95.7% of total)", search.GetProperty("match").GetString());
        Assert.Equal(2, Frames(search).Count(f => f.Contains("match]")));

        var zoom = steps.GetProperty("zoom");
        Assert.Equal(new[]
        {
            "all [frame root ancestor] 72px",
            "App.Main [frame managed ancestor] 54px",
            "App.Parse [frame managed ancestor] 36px",
            "native_helper [frame native] 18px",
            "App.Load [frame managed] 0px",
        }, Frames(zoom));
        Assert.StartsWith("Zoomed to: native_helpernative frametotal 2.0 KiB (2,000 bytes, 63.8% of total) in 1 allocations", zoom.GetProperty("details").GetString());
        Assert.False(zoom.GetProperty("reset_disabled").GetBoolean());

        // Hiding runtime frames merges native_helper into App.Parse: the zoom stops at App.Parse.
        var hidden = steps.GetProperty("hide_runtime");
        Assert.Equal(new[]
        {
            "all [frame root ancestor] 54px",
            "App.Main [frame managed ancestor] 36px",
            "App.Parse [frame managed] 18px",
            "App.Load [frame managed] 0px",
        }, Frames(hidden));
        Assert.StartsWith("Zoomed to: App.Parsemanaged frametotal 2.0 KiB (2,040 bytes, 65.1% of total) in 2 allocationsown 40 B (40 bytes, 1.3% of total) in 1 allocations",
            hidden.GetProperty("details").GetString());

        var reset = steps.GetProperty("reset");
        Assert.Equal(8, Frames(reset).Length);
        Assert.DoesNotContain(Frames(reset), f => f.StartsWith("native_helper"));
        Assert.Contains("[no stack] [frame unknown] 36px", Frames(reset));
        Assert.Equal("", reset.GetProperty("details").GetString());

        var flipped = steps.GetProperty("orient");
        Assert.Equal("true", flipped.GetProperty("orient_pressed").GetString());
        Assert.Equal("all [frame root] 0px", Frames(flipped)[0]);

        var tooltip = steps.GetProperty("tooltip");
        Assert.False(tooltip.GetProperty("hidden").GetBoolean());
        Assert.Equal(new[] { "all", "root frame", "total 3.1 KiB (3,136 bytes, 100.0% of total) in 6 allocations", "own 0 B (0 bytes, 0.0% of total) in 0 allocations" },
            tooltip.GetProperty("lines").EnumerateArray().Select(l => l.GetString()).ToArray());

        Assert.True(steps.GetProperty("threads").GetProperty("label_hidden").GetBoolean());
    }

    [Fact]
    public void Script_filters_by_thread_when_split()
    {
        using var scratch = new ScratchFolder();
        var steps = Drive(FlameTree.Build(Load(scratch), new ReportSelection(ReportMode.Allocated), splitThreads: true), scratch);
        var threads = steps.GetProperty("threads");
        Assert.False(threads.GetProperty("label_hidden").GetBoolean());
        Assert.Equal(new[] { "|all threads", "thread 101|thread 101 — 2.0 KiB", "thread 100 (main)|thread 100 (main) — 1.1 KiB" },
            threads.GetProperty("options").EnumerateArray().Select(o => $"{o[0].GetString()}|{o[1].GetString()}").ToArray());
        Assert.Equal("matched 2 frames: 2.9 KiB (95.2% of total)", steps.GetProperty("search").GetProperty("match").GetString());
        // Thread 100 alone (icicle, after the flip): its frames only, the thread at full width on top.
        Assert.Equal(new[]
        {
            "thread 100 (main) [frame thread] 0px",
            "App.Main [frame managed] 18px",
            ReportCaptures.LambdaShown + " [frame managed] 36px",
            ReportCaptures.MarkupMethod + " [frame managed] 54px",
            "App.Load [frame managed] 54px",
        }, Frames(steps.GetProperty("thread")));
        Assert.Equal("999px", steps.GetProperty("thread").GetProperty("frames")[0].GetProperty("width").GetString());
        // Wide enough for a label now: the markup-named frame's label is its name, set as text.
        Assert.Equal(ReportCaptures.MarkupMethod, steps.GetProperty("thread").GetProperty("frames")[3].GetProperty("label").GetString());
    }
}
