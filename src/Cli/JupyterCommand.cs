using System.CommandLine;
using MemNotebook.Recorder.Launching;

namespace MemNotebook.Cli;

/// <summary>
/// <c>memnb jupyter install [--tracer PATH] [--dotnet-interactive PATH] [--kernels-dir DIR]</c>: registers the
/// ".net-csharp-memprofile" kernelspec (a .NET Interactive C# kernel started with the tracer: exact mode).
/// </summary>
internal static class JupyterCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var tracer = new Option<string?>("--tracer") { Description = "The tracer library to copy into the kernelspec (default: MEMNB_TRACER_PATH, else the one beside memnb)" };
        var tool = new Option<string?>("--dotnet-interactive") { Description = "The dotnet-interactive executable (default: on PATH, else ~/.dotnet/tools)" };
        var kernels = new Option<string?>("--kernels-dir") { Description = "Jupyter's kernels folder (default: $JUPYTER_DATA_DIR/kernels, else ~/.local/share/jupyter/kernels)" };
        var install = new Command("install", $"Install the Jupyter kernel \"{JupyterKernelSpec.DisplayName}\" ({JupyterKernelSpec.Name}): #!memprofile in exact mode")
        {
            tracer, tool, kernels,
        };
        install.SetAction(parse =>
        {
            try
            {
                var installed = JupyterKernelSpec.Install(parse.GetValue(tracer), parse.GetValue(tool), parse.GetValue(kernels));
                output.WriteLine($"Installed the Jupyter kernel \"{JupyterKernelSpec.DisplayName}\" ({JupyterKernelSpec.Name}) in {installed.Folder}");
                output.WriteLine($"  starts {installed.DotnetInteractivePath} with the tracer {installed.TracerPath}");
                output.WriteLine("  Every allocation of that kernel goes through the tracer's allocation hook, even outside #!memprofile cells.");
                return (int)ExitCode.Ok;
            }
            catch (LaunchException ex)
            {
                error.WriteLine($"memnb jupyter install: {ex.Message}");
                return (int)(ex.Failure == LaunchFailure.TracerMissing ? ExitCode.TracerMissing : ExitCode.Usage);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                error.WriteLine($"memnb jupyter install: {ex.Message}");
                return (int)ExitCode.IoError;
            }
        });
        return new Command("jupyter", "Jupyter integration") { install };
    }
}
