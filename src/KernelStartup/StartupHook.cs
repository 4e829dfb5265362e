using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

/// <summary>
/// Runs in the ".net-csharp-memprofile" kernel before dotnet-interactive's Main (DOTNET_STARTUP_HOOKS).
/// <list type="number">
/// <item>Removes the variables that loaded the tracer from the environment the kernel's children get. The
/// runtime keeps its own copy of the environment, read before the profiler loads, and starts child processes
/// with it: the tracer's unsetenv in Initialize does not reach them, this does.</item>
/// <item>Keeps the kernel off the network: <c>dotnet-interactive jupyter</c> always starts an HTTP API (its
/// <c>--http-port-range</c> has a default, nothing turns it off) that runs any code it is sent, without
/// authentication, on every interface. Jupyter needs none of it (cells, displays and their updates go
/// through Jupyter's own sockets), so the kernel's web host gets a server that listens nowhere, and the
/// browser-side probe for that API (a script naming the host's addresses) is not sent.</item>
/// </list>
/// </summary>
public static class StartupHook
{
    /// <summary>Set by the kernelspec for the kernel process alone (DOTNET_ROOT is left: children need it too).</summary>
    internal static readonly string[] KernelOnlyVariables =
    [
        "CORECLR_ENABLE_PROFILING", "CORECLR_PROFILER", "CORECLR_PROFILER_PATH", "CORECLR_PROFILER_PATH_64",
        "DOTNET_ENABLE_PROFILING", "DOTNET_PROFILER", "DOTNET_PROFILER_PATH", "DOTNET_PROFILER_PATH_64",
        "DOTNET_gcConcurrent", "DOTNET_TC_OnStackReplacement", "DOTNET_TC_QuickJitForLoops", "DOTNET_STARTUP_HOOKS",
        "MEMNB_OUTPUT", "MEMNB_CLAIM", "MEMNB_AGGREGATE", "MEMNB_NATIVE",
    ];

    public static void Initialize()
    {
        foreach (var name in KernelOnlyVariables)
            Environment.SetEnvironmentVariable(name, null);
        KernelHostObserver.Start();
    }
}

/// <summary>
/// Waits for the first generic host to be built (dotnet-interactive's, before any cell runs) and changes its
/// services; hosts built later, by code in cells, are left alone.
/// </summary>
internal sealed class KernelHostObserver : IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>
{
    private IDisposable? listeners;
    private IDisposable? hosting;
    private int done;

    public static void Start()
    {
        var observer = new KernelHostObserver();
        observer.listeners = DiagnosticListener.AllListeners.Subscribe(observer);
    }

    public void OnNext(DiagnosticListener listener)
    {
        if (listener.Name == "Microsoft.Extensions.Hosting" && Volatile.Read(ref done) == 0)
            hosting = listener.Subscribe(this);
    }

    public void OnNext(KeyValuePair<string, object?> value)
    {
        if (value.Key != "HostBuilding" || value.Value is not IHostBuilder builder || Interlocked.Exchange(ref done, 1) == 1)
            return;
        builder.ConfigureServices(services =>
        {
            services.AddSingleton<IServer, NoListenerServer>();
            TurnOffBrowserProbe(services);
        });
        hosting?.Dispose();
        listeners?.Dispose();
    }

    /// <summary>
    /// The kernel's HtmlNotebookFrontendEnvironment sends the probe script when the HTTP API starts, unless its
    /// RequiresAutomaticBootstrapping is false. Found by name: this hook does not reference dotnet-interactive.
    /// </summary>
    private static void TurnOffBrowserProbe(IServiceCollection services)
    {
        foreach (var kernel in services.Where(d => d.ServiceType.FullName == "Microsoft.DotNet.Interactive.Kernel").Select(d => d.ImplementationInstance))
        {
            var frontend = kernel?.GetType().GetProperty("FrontendEnvironment")?.GetValue(kernel);
            var bootstrapping = frontend?.GetType().GetProperty("RequiresAutomaticBootstrapping");
            if (bootstrapping is { CanWrite: true } && bootstrapping.PropertyType == typeof(bool))
                bootstrapping.SetValue(frontend, false);
        }
    }

    public void OnCompleted() { }
    public void OnError(Exception error) { }
}

/// <summary>A web server that accepts no connection: the kernel's HTTP API is built but never reachable.</summary>
internal sealed class NoListenerServer : IServer
{
    public IFeatureCollection Features { get; } = new FeatureCollection();

    public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken) where TContext : notnull =>
        Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() { }
}
