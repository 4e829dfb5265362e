using MemNotebook.Cli;

namespace MemNotebook.Recorder.Tests.Cli;

internal sealed record CliResult(int ExitCode, string Out, string Err);

/// <summary>Runs the memnb command line in-process and a scratch directory that cleans up after itself.</summary>
internal sealed class CliHarness : IDisposable
{
    public CliHarness() => Directory.CreateDirectory(Root);

    public string Root { get; } = Path.Combine(Path.GetTempPath(), $"memnb-cli-{Guid.NewGuid():N}");

    public string File(string name, byte[] contents)
    {
        var path = Path.Combine(Root, name);
        System.IO.File.WriteAllBytes(path, contents);
        return path;
    }

    public string PathOf(string name) => Path.Combine(Root, name);

    public static CliResult Run(params string[] args)
    {
        var output = new StringWriter { NewLine = "\n" };
        var error = new StringWriter { NewLine = "\n" };
        var code = MemnbCommandLine.Run(args, output, error);
        return new CliResult(code, output.ToString(), error.ToString());
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
