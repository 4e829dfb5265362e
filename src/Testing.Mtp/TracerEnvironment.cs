using System.Reflection;
using Microsoft.Testing.Platform.Builder;
using Microsoft.Testing.Platform.Extensions;
using Microsoft.Testing.Platform.Extensions.TestHostControllers;

namespace MemNotebook.Testing.Mtp;

/// <summary>
/// The builder hook that build/MemNotebook.Testing.targets registers (a TestingPlatformBuilderHook item: the
/// platform's generated SelfRegisteredExtensions calls <see cref="AddExtensions"/>). It adds <see cref="TracerEnvironment"/>,
/// so the platform runs as a test host controller and starts the test host, a copy of the same command, with the
/// tracer as its profiler.
/// </summary>
public static class TestingPlatformBuilderHook
{
    public static void AddExtensions(ITestApplicationBuilder builder, string[] _)
    {
        var settings = TracerSettings.FromAssembly(Assembly.GetEntryAssembly());
        builder.TestHostControllers.AddEnvironmentVariableProvider(_ => new TracerEnvironment(settings));
    }
}

/// <summary>
/// What the build targets baked into the test assembly (AssemblyMetadata "MemNotebook.TracerPath" and
/// "MemNotebook.Claim"): where the package's tracer is, the claim file of the test host.
/// </summary>
public sealed record TracerSettings(string? TracerPath, string? ClaimPath)
{
    public static TracerSettings FromAssembly(Assembly? assembly)
    {
        string? Value(string key) => assembly?.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value;
        return new TracerSettings(Value("MemNotebook.TracerPath"), Value("MemNotebook.Claim"));
    }
}

/// <summary>
/// The test host's environment: the tracer as its profiler (exact mode) and the claim that makes the test host the one
/// process that loads it (processes the tests start inherit the variables and refuse it). Enabled when the tracer is
/// where the build said and the variable MEMNB_TEST_TRACER is not 0.
/// </summary>
public sealed class TracerEnvironment(TracerSettings settings) : ITestHostEnvironmentVariableProvider
{
    public const string ProfilerId = "{6A1B7C3E-2D4F-4E59-8A0B-9C1D2E3F4A5B}";

    public string Uid => "MemNotebook.Testing.TracerEnvironment";
    public string Version => typeof(TracerEnvironment).Assembly.GetName().Version?.ToString() ?? "0.0.0";
    public string DisplayName => "MemNotebook tracer";
    public string Description => "Starts the test host with the MemNotebook tracer as its profiler, so memory limits are measured exactly.";

    public Task<bool> IsEnabledAsync() =>
        Task.FromResult(settings.TracerPath is { } path && File.Exists(path) && Environment.GetEnvironmentVariable("MEMNB_TEST_TRACER") != "0");

    /// <summary>The variables the test host gets, in the order they are set.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Variables()
    {
        List<KeyValuePair<string, string>> variables =
        [
            new("CORECLR_ENABLE_PROFILING", "1"),
            new("CORECLR_PROFILER", ProfilerId),
            new("CORECLR_PROFILER_PATH", settings.TracerPath!),
            new("DOTNET_gcConcurrent", "0"),
            new("DOTNET_TC_OnStackReplacement", "0"),
            new("DOTNET_TC_QuickJitForLoops", "0"),
        ];
        if (settings.ClaimPath is { Length: > 0 } claim)
            variables.Add(new("MEMNB_CLAIM", claim));
        return variables;
    }

    public Task UpdateAsync(IEnvironmentVariables environmentVariables)
    {
        foreach (var (name, value) in Variables())
            environmentVariables.SetVariable(new EnvironmentVariable(name, value, isSecret: false, isLocked: true));
        return Task.CompletedTask;
    }

    public Task<ValidationResult> ValidateTestHostEnvironmentVariablesAsync(IReadOnlyEnvironmentVariables environmentVariables) =>
        ValidationResult.ValidTask;
}
