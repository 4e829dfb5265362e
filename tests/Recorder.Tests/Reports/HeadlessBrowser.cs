using System.Diagnostics;
using System.Text.Json;
using Xunit;

namespace MemNotebook.Recorder.Tests.Reports;

/// <summary>
/// Runs a script of tests/browser (playwright-core driving Debian's headless Chromium) and returns the JSON
/// facts it prints. Needs node, the npm package playwright-core (`npm ci` in tests/browser; scripts/test.sh
/// does) and /usr/bin/chromium (scripts/setup.sh installs it): fails, never skips, when one is missing.
/// </summary>
internal static class HeadlessBrowser
{
    private const string Chromium = "/usr/bin/chromium";

    public static string Folder
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "tests", "browser");
                if (File.Exists(Path.Combine(candidate, "flamegraph.mjs")))
                    return candidate;
            }
            throw new InvalidOperationException("tests/browser not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>A path for a screenshot kept with the test output (bin/.../browser-screenshots/NAME).</summary>
    public static string ScreenshotPath(string name)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "browser-screenshots");
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, name);
    }

    public static JsonElement Run(string script, params string[] arguments)
    {
        var folder = Folder;
        Assert.True(Directory.Exists(Path.Combine(folder, "node_modules", "playwright-core")),
            $"playwright-core is not installed in {folder}: run `npm ci` there (scripts/test.sh does)");
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: install Debian's chromium package (scripts/setup.sh does)");
        var psi = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = folder };
        psi.ArgumentList.Add(script);
        foreach (var argument in arguments)
            psi.ArgumentList.Add(argument);
        Process process;
        try
        {
            process = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Assert.Fail($"node is required for the browser tests and could not be started: {ex.Message}");
            throw;
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"node {script} did not finish within 120 s: {stderr.Result}");
            }
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"node {script} failed (exit {process.ExitCode}): {stderr.Result}");
            return JsonDocument.Parse(stdout.Result).RootElement.Clone();
        }
    }
}
