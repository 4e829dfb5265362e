using MemNotebook.Recorder.Tracing;

namespace MemNotebook.Testing;

/// <summary>
/// One measured test: the tracer records while it runs, and its limits are checked against the test's own
/// allocations when it ends. The tracer records one region at a time, so measured tests take turns (tests
/// without limits run alongside as the runner schedules them; their allocations are not the measured test's).
/// </summary>
internal sealed class LimitRun
{
    public const string CapturesVariable = "MEMNB_TEST_CAPTURES";

    private static readonly SemaphoreSlim Turn = new(1, 1);

    private readonly Tracker tracker;
    private readonly string? temporaryFolder;
    private bool ended;

    private LimitRun(MemoryLimitRequest request, IReadOnlyList<long> limitBytes, Tracker tracker, string? temporaryFolder)
    {
        Request = request;
        LimitBytes = limitBytes;
        this.tracker = tracker;
        this.temporaryFolder = temporaryFolder;
    }

    public MemoryLimitRequest Request { get; }
    public IReadOnlyList<long> LimitBytes { get; }

    /// <summary>Any object the caller ties to the run (the xunit attribute that started it).</summary>
    public object? Owner { get; init; }

    public static LimitRun Begin(MemoryLimitRequest request, object? owner = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Limits.Count == 0)
            throw new MemoryLimitException($"{request.TestName}: no memory limit given");
        var bytes = new long[request.Limits.Count];
        for (var i = 0; i < bytes.Length; i++)
        {
            var limit = request.Limits[i];
            if (!ByteSize.TryParse(limit.Size, out bytes[i], out var error))
                throw new MemoryLimitException($"{request.TestName}: {limit.Describe()}: {error}");
            if (limit.Type is { Length: 0 } || limit.Frame is { Length: 0 })
                throw new MemoryLimitException($"{request.TestName}: {limit.Describe()}: an empty {(limit.Type is { Length: 0 } ? "Type" : "Frame")} filter");
        }
        if (ScopeContext.Current is { } outer && ReferenceEquals(outer, ScopeContext.Active))
            throw new MemoryLimitException($"{request.TestName}: {Sources(request)}: a memory limit is already measuring this code ({outer.Request.TestName}: {Sources(outer.Request)}); limits do not nest");
        if (!Tracker.IsAvailable)
            throw TestOutcome.CannotMeasure($"{request.TestName}: {Sources(request)} cannot be measured: this test host was not started with the MemNotebook tracer (exact mode). " +
                "`dotnet test` starts it so in a project that references MemNotebook.Testing; a host started another way needs " +
                "CORECLR_ENABLE_PROFILING=1, CORECLR_PROFILER={6A1B7C3E-2D4F-4E59-8A0B-9C1D2E3F4A5B} and CORECLR_PROFILER_PATH=<the package's libmemnb_tracer.so> (docs/testing.md)");

        Turn.Wait();
        string? temporary = null;
        try
        {
            string path;
            var keep = Environment.GetEnvironmentVariable(CapturesVariable);
            if (!string.IsNullOrEmpty(keep))
            {
                Directory.CreateDirectory(keep);
                path = UniquePath(keep, request.TestName);
            }
            else
            {
                temporary = Directory.CreateTempSubdirectory("memnb-test-").FullName;
                path = Path.Combine(temporary, "test.memnb");
            }
            Tracker started;
            try
            {
                started = Tracker.Start(path);
            }
            catch (TracerException e)
            {
                throw new MemoryLimitException($"{request.TestName}: {Sources(request)}: the tracer cannot record: {e.Message}", e);
            }
            var run = new LimitRun(request, bytes, started, temporary) { Owner = owner };
            ScopeContext.Enter(run);
            return run;
        }
        catch
        {
            if (temporary is not null)
                Directory.Delete(temporary, recursive: true);
            Turn.Release();
            throw;
        }
    }

    /// <summary>Stops recording and measures; the measurement's <see cref="MemoryMeasurement.Failure"/> says whether a limit was exceeded.</summary>
    public MemoryMeasurement End()
    {
        if (ended)
            throw new InvalidOperationException($"{Request.TestName}: the memory limit has ended already");
        ended = true;
        ScopeContext.Close(this);
        try
        {
            tracker.Stop();
            return ScopeAnalysis.Measure(this, tracker.Path, keepCapture: temporaryFolder is null);
        }
        finally
        {
            try
            {
                if (temporaryFolder is not null)
                    Directory.Delete(temporaryFolder, recursive: true);
            }
            finally
            {
                Turn.Release();
            }
        }
    }

    internal static string Sources(MemoryLimitRequest request) => string.Join(", ", request.Limits.Select(l => l.Describe()));

    private static string UniquePath(string folder, string testName)
    {
        var safe = new string(testName.Select(c => char.IsLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_').ToArray());
        if (safe.Length > 150)
            safe = safe[..150];
        var path = Path.Combine(folder, safe + ".memnb");
        for (var n = 2; File.Exists(path) || Directory.Exists(path + ".arrow"); n++)
            path = Path.Combine(folder, $"{safe}-{n}.memnb");
        return Path.GetFullPath(path);
    }
}
