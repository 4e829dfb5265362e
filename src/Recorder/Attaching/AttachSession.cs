using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using MemNotebook.Recorder.Launching;
using MemNotebook.Recorder.Tracing;
using Microsoft.Diagnostics.NETCore.Client;

namespace MemNotebook.Recorder.Attaching;

public enum AttachFailure
{
    /// <summary>An option is wrong (a bad process id, an output that exists).</summary>
    Usage,
    /// <summary>No process has that id.</summary>
    NoSuchProcess,
    /// <summary>The process belongs to another user.</summary>
    OtherUser,
    /// <summary>The process is not .NET, or its diagnostics port is off.</summary>
    NotDotnet,
    /// <summary>A profiler (ours or another) is loaded in the process already.</summary>
    ProfilerPresent,
    /// <summary>libmemnb_tracer.so is missing.</summary>
    TracerMissing,
    /// <summary>The runtime refused the attach, or the tracer could not record.</summary>
    Refused,
    /// <summary>The output cannot be written.</summary>
    Output,
}

public sealed class AttachException(AttachFailure failure, string message) : Exception(message)
{
    public AttachFailure Failure { get; } = failure;
}

public sealed record AttachOptions
{
    public required int ProcessId { get; init; }

    /// <summary>The capture to write; default memnb-&lt;name&gt;-&lt;pid&gt;.memnb in the working directory.</summary>
    public string? OutputPath { get; init; }

    public bool Force { get; init; }

    /// <summary>Record native allocations too (GOT hooks installed for the recording, restored after).</summary>
    public bool Native { get; init; }

    /// <summary>The tracer library; default the one this process would load (MEMNB_TRACER_PATH, beside Recorder).</summary>
    public string? TracerPath { get; init; }

    /// <summary>How long the runtime may take to attach and the tracer to start recording.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>How a recording of an attached process ended.</summary>
public enum DetachOutcome
{
    /// <summary>The recording stopped and the runtime unloaded the tracer: the process runs as before the attach.</summary>
    Detached,
    /// <summary>The recording stopped with hooks restored, but the runtime kept the tracer loaded (idle).</summary>
    Idle,
    /// <summary>The process exited while recording; the capture holds what was written until then.</summary>
    TargetExited,
    /// <summary>The tracer did not answer in time; it stops by itself when this process exits.</summary>
    NoAnswer,
}

public sealed record AttachResult(DetachOutcome Outcome, string? Detail, TracedRunResult Capture);

/// <summary>
/// <c>memnb attach PID</c>: attaches the tracer to a running .NET process started without it
/// (<c>DiagnosticsClient.AttachProfiler</c>) and records the runtime's allocation samples there (LOH objects
/// exactly; native allocations exactly with <see cref="AttachOptions.Native"/>). The request travels as the
/// attach's client data; a private folder is the control channel: the tracer writes its state there and stops
/// when a stop file appears or this process exits, then asks the runtime to unload it.
/// </summary>
public sealed class AttachSession : IDisposable
{
    // CORPROF_E_PROFILER_ALREADY_ACTIVE, as the runtime's answer names it.
    private const string ProfilerAlreadyActive = "8013136A";

    private readonly DirectoryInfo control;
    private bool stopRequested;

    private AttachSession(int processId, string outputPath, DirectoryInfo control, string processName)
    {
        ProcessId = processId;
        OutputPath = outputPath;
        this.control = control;
        ProcessName = processName;
    }

    public int ProcessId { get; }
    public string ProcessName { get; }
    public string OutputPath { get; }

    /// <summary>How long the runtime took to attach the tracer and the tracer to start recording.</summary>
    public TimeSpan StartTime { get; private set; }

    /// <summary>The tracer's last state line (recording, stopped, detached, idle ..., error ...).</summary>
    public string? State => ReadState();

    public bool TargetAlive => ProcessExists(ProcessId);

    /// <summary>Checks the target and attaches; returns once the tracer records. Throws <see cref="AttachException"/>.</summary>
    public static AttachSession Start(AttachOptions options)
    {
        int pid = options.ProcessId;
        if (pid <= 0)
            throw new AttachException(AttachFailure.Usage, $"'{pid}' is not a process id");
        if (pid == Environment.ProcessId)
            throw new AttachException(AttachFailure.Usage, $"process {pid} is memnb itself");
        var (name, mapped) = CheckTarget(pid);
        var tracer = options.TracerPath is null ? TracerLocation.FindFile() : Path.GetFullPath(options.TracerPath);
        if (tracer is null || !File.Exists(tracer))
            throw new AttachException(AttachFailure.TracerMissing, TracerLocation.NotFound(tracer));
        var output = Path.GetFullPath(options.OutputPath ?? DefaultOutputFileName(name, pid));
        CheckOutput(output, options.Force);

        var control = Directory.CreateTempSubdirectory("memnb-attach-"); // 0700
        var session = new AttachSession(pid, output, control, name);
        var request = new StringBuilder()
            .Append("memnb-attach 1\n")
            .Append($"output={output}\n")
            .Append($"options=sampled{(options.Native ? ",native" : "")}\n")
            .Append($"control={control.FullName}\n")
            .Append($"controller={Environment.ProcessId}\n");
        var watch = Stopwatch.StartNew();
        if (mapped is not null)
            session.ReuseIdleTracer(mapped, Encoding.UTF8.GetBytes(request.ToString()), options.StartTimeout);
        else
        try
        {
            new DiagnosticsClient(pid).AttachProfiler(options.StartTimeout, SampledMode.ProfilerClsid, tracer, Encoding.UTF8.GetBytes(request.ToString()));
        }
        catch (ServerErrorException ex) when (ex.Message.Contains(ProfilerAlreadyActive, StringComparison.OrdinalIgnoreCase))
        {
            session.Cleanup();
            throw new AttachException(AttachFailure.ProfilerPresent, $"process {pid} ({name}) has a profiler attached already: the runtime takes one at a time");
        }
        catch (Exception ex) when (ex is ServerErrorException or ServerNotAvailableException or TimeoutException or UnsupportedCommandException or IOException or UnauthorizedAccessException)
        {
            session.Cleanup();
            throw new AttachException(AttachFailure.Refused, $"the runtime of process {pid} ({name}) did not attach the tracer: {ex.Message}");
        }
        // ProfilerAttachComplete starts the recording on a thread of the tracer.
        var state = session.WaitForState(s => s != "", options.StartTimeout);
        if (state is null || !state.StartsWith("recording", StringComparison.Ordinal))
        {
            var why = state is null
                ? (session.TargetAlive ? $"the tracer did not start recording within {options.StartTimeout.TotalSeconds:0} s" : "the process exited")
                : state.StartsWith("error ", StringComparison.Ordinal) ? state["error ".Length..] : state;
            session.RequestStop();
            session.WaitForState(s => s.StartsWith("detached", StringComparison.Ordinal) || s.StartsWith("idle", StringComparison.Ordinal), TimeSpan.FromSeconds(2));
            session.Cleanup();
            throw new AttachException(AttachFailure.Refused, $"the tracer attached to process {pid} ({name}) cannot record: {why}");
        }
        session.StartTime = watch.Elapsed;
        return session;
    }

    /// <summary>True when the recording went to a tracer left loaded and idle by an earlier attach.</summary>
    public bool Reused { get; private set; }

    /// <summary>
    /// The target maps the tracer: an idle one (kept loaded after an earlier attach) listens on the abstract socket
    /// "\0memnb-idle-PID" and takes the request there (native/src/profiler/attach_control.h); any other (recording
    /// now, or started with the target) listens nowhere, and the attach is refused.
    /// </summary>
    private void ReuseIdleTracer(string mapped, byte[] request, TimeSpan timeout)
    {
        string answer;
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socket.SendTimeout = socket.ReceiveTimeout = (int)timeout.TotalMilliseconds;
            socket.Connect(new UnixDomainSocketEndPoint($"\0memnb-idle-{ProcessId}"));
            // Abstract names belong to nobody: the request goes only to the target itself, running as this user
            // (SO_PEERCRED: pid, uid, gid).
            Span<byte> peer = stackalloc byte[12];
            if (socket.GetRawSocketOption(1 /* SOL_SOCKET */, 17 /* SO_PEERCRED */, peer) != 12 ||
                BitConverter.ToInt32(peer[..4]) != ProcessId || BitConverter.ToUInt32(peer[4..8]) != geteuid())
            {
                Cleanup();
                throw new AttachException(AttachFailure.Refused,
                    $"the socket memnb-idle-{ProcessId} is held by another process than {ProcessId} ({ProcessName}) or by another user; nothing was sent");
            }
            socket.Send(request);
            socket.Shutdown(SocketShutdown.Send);
            var received = new List<byte>();
            var buffer = new byte[256];
            int n;
            while (received.Count < 4096 && (n = socket.Receive(buffer)) > 0)
                received.AddRange(buffer.AsSpan(0, n));
            answer = Encoding.UTF8.GetString(received.ToArray()).TrimEnd('\n');
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
        {
            Cleanup();
            throw new AttachException(AttachFailure.Refused, $"the idle tracer in process {ProcessId} ({ProcessName}) did not answer within {timeout.TotalSeconds:0} s");
        }
        catch (SocketException)
        {
            Cleanup();
            throw new AttachException(AttachFailure.ProfilerPresent,
                $"process {ProcessId} ({ProcessName}) has memnb's tracer loaded already ({mapped}): it is being recorded, or was started with the tracer (memnb run, the tracer kernel)");
        }
        if (answer != "ok")
        {
            Cleanup();
            throw new AttachException(AttachFailure.Refused,
                $"the idle tracer in process {ProcessId} ({ProcessName}) refused the request: {(answer.StartsWith("error ", StringComparison.Ordinal) ? answer["error ".Length..] : answer)}");
        }
        Reused = true;
    }

    /// <summary>Asks the tracer to stop (it does within ~20 ms); idempotent.</summary>
    public void RequestStop()
    {
        if (stopRequested)
            return;
        stopRequested = true;
        try
        {
            File.WriteAllText(Path.Combine(control.FullName, "stop"), "");
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Stops the recording, waits for the tracer to unload, and looks at the capture.</summary>
    public AttachResult Stop(TimeSpan? timeout = null)
    {
        RequestStop();
        var limit = timeout ?? TimeSpan.FromSeconds(10);
        var final = WaitForState(s => s.StartsWith("detached", StringComparison.Ordinal) || s.StartsWith("idle", StringComparison.Ordinal), limit);
        DetachOutcome outcome;
        string? detail = null;
        if (final is not null && final.StartsWith("detached", StringComparison.Ordinal))
            outcome = DetachOutcome.Detached;
        else if (final is not null)
        {
            outcome = DetachOutcome.Idle;
            detail = final["idle".Length..].Trim();
        }
        else if (!TargetAlive)
            outcome = DetachOutcome.TargetExited;
        else
        {
            outcome = DetachOutcome.NoAnswer;
            detail = ReadState();
        }
        var capture = TracedProcess.Inspect(OutputPath, 0);
        Cleanup();
        return new AttachResult(outcome, detail, capture);
    }

    /// <summary>Waits until the target exits, <paramref name="cancel"/> fires, or the duration ends; false when the target exited.</summary>
    public bool WaitWhileRecording(TimeSpan? duration, CancellationToken cancel)
    {
        var watch = Stopwatch.StartNew();
        while (!cancel.IsCancellationRequested && (duration is null || watch.Elapsed < duration))
        {
            if (!TargetAlive)
                return false;
            cancel.WaitHandle.WaitOne(50);
        }
        return TargetAlive;
    }

    public void Dispose()
    {
        if (Directory.Exists(control.FullName))
        {
            RequestStop();
            WaitForState(s => s.StartsWith("detached", StringComparison.Ordinal) || s.StartsWith("idle", StringComparison.Ordinal), TimeSpan.FromSeconds(5));
            Cleanup();
        }
    }

    private void Cleanup()
    {
        try
        {
            control.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private string? ReadState()
    {
        try
        {
            return File.ReadAllText(Path.Combine(control.FullName, "state")).TrimEnd('\n');
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private string? WaitForState(Func<string, bool> done, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var state = ReadState();
            if (state is not null && done(state))
                return state;
            if (watch.Elapsed >= timeout || !TargetAlive)
                return state is not null && done(state) ? state : null;
            Thread.Sleep(10);
        }
    }

    /// <summary>memnb-&lt;name&gt;-&lt;pid&gt;.memnb: the target's name and id.</summary>
    public static string DefaultOutputFileName(string processName, int pid)
    {
        var safe = new string(processName.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray());
        return $"memnb-{(safe.Length == 0 ? "process" : safe)}-{pid}.memnb";
    }

    private static void CheckOutput(string output, bool force)
    {
        if (Directory.Exists(output))
            throw new AttachException(AttachFailure.Output, $"output {output} is a directory");
        if (File.Exists(output))
        {
            if (!force)
                throw new AttachException(AttachFailure.Usage, $"output {output} already exists (use --force to overwrite it)");
            File.Delete(output); // the tracer creates the capture anew
        }
        var directory = Path.GetDirectoryName(output) ?? "/";
        if (!Directory.Exists(directory))
            throw new AttachException(AttachFailure.Output, $"cannot write {output}: directory {directory} does not exist");
    }

    /// <summary>
    /// The checks that need no attach: the process exists, is the user's, is .NET. Returns its name and the path of
    /// the tracer it maps already (null when none).
    /// </summary>
    private static (string Name, string? Mapped) CheckTarget(int pid)
    {
        if (!ProcessExists(pid))
            throw new AttachException(AttachFailure.NoSuchProcess, $"no process has id {pid}");
        var name = NameOf(pid);
        var owner = OwnerOf(pid);
        var me = geteuid();
        if (owner is uint uid && uid != me && me != 0)
            throw new AttachException(AttachFailure.OtherUser,
                $"process {pid} ({name}) belongs to another user (uid {uid}; you are uid {me}): attach to your own processes");
        if (!DiagnosticsClient.GetPublishedProcesses().Contains(pid))
            throw new AttachException(AttachFailure.NotDotnet,
                $"process {pid} ({name}) is not a .NET process (it has no diagnostics port; a .NET process started with DOTNET_EnableDiagnostics=0 has none either)");
        return (name, MappedTracer(pid));
    }

    internal static bool ProcessExists(int pid) => Directory.Exists($"/proc/{pid}") && !IsZombie(pid);

    private static bool IsZombie(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            int close = stat.LastIndexOf(')');
            return close > 0 && close + 2 < stat.Length && stat[close + 2] is 'Z' or 'X';
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>The process's name (comm), or "?" when it cannot be read.</summary>
    public static string NameOf(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").TrimEnd('\n');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "?";
        }
    }

    /// <summary>The command line (arguments separated by spaces), or null when it cannot be read.</summary>
    public static string? CommandLine(int pid)
    {
        try
        {
            var raw = File.ReadAllText($"/proc/{pid}/cmdline");
            return raw.TrimEnd('\0').Replace('\0', ' ');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static uint? OwnerOf(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith("Uid:", StringComparison.Ordinal))
                    return uint.Parse(line.Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[2]); // effective uid
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
        }
        return null;
    }

    /// <summary>The path of libmemnb_tracer.so if the process has it mapped.</summary>
    public static string? MappedTracer(int pid) => TracerLocation.FindMapped(pid);

    [DllImport("libc", SetLastError = false)]
    private static extern uint geteuid();
}
