using Spectre.Console;

namespace MemNotebook.Cli;

/// <summary>Where memnb may draw (live views, progress): only on a terminal, never into a pipe or a file.</summary>
internal static class Terminal
{
    /// <summary>
    /// A Spectre.Console console writing to <paramref name="writer"/> when it is this process's stdout or stderr and
    /// that stream is an interactive terminal; null otherwise (redirected, or a writer of a test).
    /// </summary>
    public static IAnsiConsole? On(TextWriter writer)
    {
        var redirected = ReferenceEquals(writer, Console.Out) ? Console.IsOutputRedirected
            : ReferenceEquals(writer, Console.Error) ? Console.IsErrorRedirected
            : true;
        if (redirected)
            return null;
        // Interactive: Spectre's own detection says no as soon as stdout is redirected, even for a console on stderr;
        // this stream is a terminal, which is what matters here.
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer), Interactive = InteractionSupport.Yes });
        return console.Profile.Capabilities.Ansi ? console : null;
    }
}
