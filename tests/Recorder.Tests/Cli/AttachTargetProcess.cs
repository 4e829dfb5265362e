using MemNotebook.Recorder.Tracing;
using System.Diagnostics;
using MemNotebook.Recorder.Launching;
using MemNotebook.Recorder.Tests.Profiler;
using Xunit;

namespace MemNotebook.Recorder.Tests.Cli;

/// <summary>
/// tests/TestTarget's attach-target scenario in a child process started without any profiler variables (or with the
/// tracer as its startup profiler): commands on stdin, one answer line each (see AttachTarget in TestTarget).
/// </summary>
internal sealed class AttachTargetProcess : IDisposable
{
    private readonly Process process;

    public AttachTargetProcess(bool withTracer = false, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(TracedTarget.TargetPath);
        psi.ArgumentList.Add("attach-target");
        foreach (var name in psi.Environment.Keys.ToList())
            if (name.Contains("PROFIL", StringComparison.Ordinal) || name.StartsWith("MEMNB_", StringComparison.Ordinal))
                psi.Environment.Remove(name);
        if (withTracer)
            foreach (var (name, value) in TracedProcess.ProfilerEnvironment(TracedTarget.TracerPath))
                psi.Environment[name] = value;
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            psi.Environment[name] = value;
        process = Process.Start(psi)!;
        var ready = process.StandardOutput.ReadLine();
        Assert.Equal($"ready {process.Id}", ready);
    }

    public int Id => process.Id;

    public bool HasExited => process.HasExited;

    /// <summary>Sends one command and returns its answer.</summary>
    public string Send(string command)
    {
        process.StandardInput.WriteLine(command);
        process.StandardInput.Flush();
        return process.StandardOutput.ReadLine() ?? throw new InvalidOperationException($"the target exited on '{command}': {process.StandardError.ReadToEnd()}");
    }

    /// <summary>Nanoseconds per allocation of byte[40] (best of five rounds).</summary>
    public double TimeAllocations(long count)
    {
        var answer = Send($"time {count}");
        Assert.StartsWith("ns ", answer);
        return double.Parse(answer[3..], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Ends the target through its stdin and waits for it.</summary>
    public void Exit()
    {
        process.StandardInput.WriteLine("exit");
        process.StandardInput.Flush();
        Assert.True(process.WaitForExit(10_000), "the target did not exit");
    }

    public bool TracerMapped => File.ReadAllText($"/proc/{Id}/maps").Contains(TracerLocation.FileName, StringComparison.Ordinal);

    public void Dispose()
    {
        if (!process.HasExited)
        {
            process.Kill();
            process.WaitForExit();
        }
        process.Dispose();
    }
}
