using Microsoft.Diagnostics.NETCore.Client;

namespace MemNotebook.Recorder.Attaching;

/// <summary>A running .NET process with a diagnostics port (as <c>dotnet-trace ps</c> lists them).</summary>
/// <param name="TracerLoaded">libmemnb_tracer.so is mapped there already (recorded now, started with it, or kept idle).</param>
public sealed record AttachableProcess(int ProcessId, string Name, string CommandLine, bool TracerLoaded)
{
    /// <summary>The processes that published a diagnostics port, this one left out, by id; those gone already are skipped.</summary>
    public static IReadOnlyList<AttachableProcess> List()
    {
        var list = new List<AttachableProcess>();
        foreach (var pid in DiagnosticsClient.GetPublishedProcesses().Distinct().Order())
        {
            if (pid == Environment.ProcessId || !AttachSession.ProcessExists(pid))
                continue;
            var commandLine = AttachSession.CommandLine(pid);
            if (commandLine is null)
                continue;
            list.Add(new AttachableProcess(pid, AttachSession.NameOf(pid), commandLine, AttachSession.MappedTracer(pid) is not null));
        }
        return list;
    }
}
