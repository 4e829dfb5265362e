using System.Net;
using System.Reflection.PortableExecutable;

namespace MemNotebook.Recorder.Symbols;

/// <summary>
/// Portable PDBs from a symbol server (SSQP, as Microsoft's and NuGet's serve the .NET libraries' symbols), asked for
/// the managed modules of a capture that have no PDB of their own, when reports are made. Off unless a server is given:
/// <see cref="Server"/>, from <c>MEMNB_SYMBOL_SERVER</c> or the CLI's <c>--symbol-server</c> / the notebook's
/// <c>--symbol-server</c>. A PDB is asked by the SSQP key of the assembly's CodeView entry,
/// <c>name.pdb/&lt;guid, 32 lowercase hex digits&gt;FFFFFFFF/name.pdb</c>, and kept in the per-user cache
/// (<c>~/.cache/memnb/symbols/</c> + that key); a server's "not found" is remembered there for a day
/// (<c>….missing</c>) so the next report does not ask again. A server that fails (no answer within
/// <see cref="Timeout"/>, a name that does not resolve, an HTTP error other than 404) is not asked again for a minute
/// in this process, and one warning line names it and the problem: a report never fails for want of symbols.
/// </summary>
public static class SymbolServer
{
    /// <summary>How long a server's answer that the PDB is not there is believed.</summary>
    public static readonly TimeSpan MissExpiry = TimeSpan.FromDays(1);

    private static readonly TimeSpan FailureBackoff = TimeSpan.FromMinutes(1);
    private static readonly Dictionary<string, DateTime> FailedUntil = new(StringComparer.Ordinal);
    private static string? server = FromEnvironment();

    /// <summary>The server's base URL (http or https), or null for none (the default; <c>MEMNB_SYMBOL_SERVER</c> sets it).</summary>
    public static string? Server
    {
        get => server;
        set => server = Normalize(value);
    }

    /// <summary>The largest PDB downloaded (System.Private.CoreLib's is about 40 MB); a bigger answer is a failure.</summary>
    public const long MaxPdbBytes = 512L << 20;

    /// <summary>The longest a request may take, connection and body included.</summary>
    public static TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Where PDBs are kept; null for the per-user cache's <c>symbols</c> folder.</summary>
    public static string? CacheFolder { get; set; }

    /// <summary>
    /// Where a warning line goes (a server that failed); standard error when null. Each line reads
    /// "memnb: warning: symbol server URL: problem; ...".
    /// </summary>
    public static Action<string>? Warn { get; set; }

    /// <summary>The requests that went to a server since the process started (a cached PDB or miss asks none).</summary>
    public static int Requests => requests;

    private static int requests;

    /// <summary>The SSQP key of an assembly's portable PDB, from its CodeView entry; null when it has none.</summary>
    public static string? KeyOf(string assemblyPath)
    {
        try
        {
            using var pe = new PEReader(File.OpenRead(assemblyPath));
            foreach (var entry in pe.ReadDebugDirectory())
            {
                if (entry.Type != DebugDirectoryEntryType.CodeView || !entry.IsPortableCodeView)
                    continue;
                var codeView = pe.ReadCodeViewDebugDirectoryData(entry);
                // The path the compiler wrote may be a Windows one.
                var name = codeView.Path[(codeView.Path.LastIndexOfAny(['/', '\\']) + 1)..].ToLowerInvariant();
                if (name.Length == 0 || name is "." or "..")
                    return null;
                return $"{name}/{codeView.Guid:N}FFFFFFFF/{name}";
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or BadImageFormatException or InvalidOperationException)
        {
        }
        return null;
    }

    /// <summary>
    /// The path of the cached PDB of the assembly, downloaded from <see cref="Server"/> when not cached yet; null when
    /// no server is set, the assembly names no portable PDB, the server does not have it, or the server failed.
    /// The caller checks the PDB's id against the assembly.
    /// </summary>
    public static string? Fetch(string assemblyPath)
    {
        var baseUrl = server;
        if (baseUrl is null || KeyOf(assemblyPath) is not { } key)
            return null;
        string file;
        try
        {
            file = Path.Combine(CacheFolder ?? Storage.UserCache.Folder("symbols"), key.Replace('/', Path.DirectorySeparatorChar));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Warning(baseUrl, $"no cache folder for symbols ({ex.Message})");
            return null;
        }
        var missing = file + ".missing";
        if (File.Exists(file))
            return file;
        if (File.Exists(missing) && DateTime.UtcNow - File.GetLastWriteTimeUtc(missing) < MissExpiry)
            return null;
        lock (FailedUntil)
        {
            if (FailedUntil.TryGetValue(baseUrl, out var until) && DateTime.UtcNow < until)
                return null;
        }
        return Download(baseUrl, key, file, missing);
    }

    private static string? Download(string baseUrl, string key, string file, string missing)
    {
        var url = baseUrl + "/" + key;
        try
        {
            Interlocked.Increment(ref requests);
            // The timeout covers the whole download, body included (HttpClient.Timeout ends at the headers here).
            using var deadline = new CancellationTokenSource(Timeout);
            using var http = new HttpClient { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
            using var response = http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, deadline.Token).GetAwaiter().GetResult();
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(missing)!);
                File.WriteAllText(missing, url + "\n");
                return null;
            }
            if (!response.IsSuccessStatusCode)
                return Failed(baseUrl, $"HTTP {(int)response.StatusCode} {response.ReasonPhrase} for {key}");
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            var staging = file + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
            try
            {
                if (response.Content.Headers.ContentLength > MaxPdbBytes)
                    return Failed(baseUrl, $"{key} is {response.Content.Headers.ContentLength:N0} bytes, more than the {MaxPdbBytes:N0} a PDB may have");
                using (var body = response.Content.ReadAsStream(deadline.Token))
                using (var output = File.Create(staging))
                {
                    var buffer = new byte[81920];
                    long total = 0;
                    int read;
                    while ((read = body.ReadAsync(buffer, deadline.Token).AsTask().GetAwaiter().GetResult()) > 0)
                    {
                        if ((total += read) > MaxPdbBytes)
                            return Failed(baseUrl, $"{key} is more than the {MaxPdbBytes:N0} bytes a PDB may have");
                        output.Write(buffer, 0, read);
                    }
                }
                File.Move(staging, file, overwrite: true);
            }
            finally
            {
                if (File.Exists(staging))
                    File.Delete(staging);
            }
            return file;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException or UnauthorizedAccessException)
        {
            var problem = ex is OperationCanceledException ? $"no answer within {Timeout.TotalSeconds:0.#} s" : ex.Message;
            return Failed(baseUrl, problem);
        }
    }

    private static string? Failed(string baseUrl, string problem)
    {
        lock (FailedUntil)
            FailedUntil[baseUrl] = DateTime.UtcNow + FailureBackoff;
        Warning(baseUrl, problem);
        return null;
    }

    private static void Warning(string baseUrl, string problem)
    {
        var line = $"memnb: warning: symbol server {baseUrl}: {problem}; frames of modules without a PDB have no line";
        if (Warn is { } warn)
            warn(line);
        else
            Console.Error.WriteLine(line);
    }

    /// <summary>Forgets the servers that failed (tests).</summary>
    public static void ResetFailures()
    {
        lock (FailedUntil)
            FailedUntil.Clear();
    }

    // A bad MEMNB_SYMBOL_SERVER is a warning, not a failure of whatever reads a capture.
    private static string? FromEnvironment()
    {
        try
        {
            return Normalize(Environment.GetEnvironmentVariable("MEMNB_SYMBOL_SERVER"));
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine($"memnb: warning: MEMNB_SYMBOL_SERVER: {ex.Message}; no symbols are downloaded");
            return null;
        }
    }

    private static string? Normalize(string? url)
    {
        if (string.IsNullOrWhiteSpace(url))
            return null;
        url = url.Trim().TrimEnd('/');
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new ArgumentException($"symbol server '{url}': not an http or https URL", nameof(url));
        return url;
    }
}
