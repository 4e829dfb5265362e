using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Reflection;
using MemNotebook.Recorder.Reports;

namespace MemNotebook.Cli;

/// <summary>The memnb command tree. <see cref="Run"/> is the whole CLI, callable in-process by tests.</summary>
public static class MemnbCommandLine
{
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var root = new RootCommand("MemNotebook: exact memory profiling for .NET")
        {
            StatsCommand.Create(output, error),
            RunCommand.Create(output, error),
            AttachCommand.Create(output, error),
            PsCommand.Create(output, error),
            TransformCommand.Create(output, error),
            QueryCommand.Create(output, error),
            JupyterCommand.Create(output, error),
            CacheCommand.Create(output, error),
        };
        // The report verbs, one per report of the catalog (stats has its own above, for --json).
        foreach (var report in ReportCatalog.All.Where(r => r.Verb))
            root.Add(ReportVerb.Create(report, output, error));
        // The version of this assembly (Directory.Build.props), whatever process hosts it.
        root.Options.OfType<VersionOption>().Single().Action = new PrintVersion(output);
        var symbolServer = SymbolServerOption();
        root.Options.Add(symbolServer);
        var parse = root.Parse(args);
        if (parse.Action is ParseErrorAction)
            return UsageError(parse, error);
        // The symbol server, where reports read managed frames' lines; its warnings go to this error writer.
        var (server, warn) = (Recorder.Symbols.SymbolServer.Server, Recorder.Symbols.SymbolServer.Warn);
        try
        {
            if (parse.GetValue(symbolServer) is { } url)
                Recorder.Symbols.SymbolServer.Server = url;
            Recorder.Symbols.SymbolServer.Warn = line => error.WriteLine(line);
            return parse.Invoke(new InvocationConfiguration { Output = output, Error = error });
        }
        finally
        {
            (Recorder.Symbols.SymbolServer.Server, Recorder.Symbols.SymbolServer.Warn) = (server, warn);
        }
    }

    /// <summary>--symbol-server URL, on every verb: where the .NET libraries' PDBs are downloaded from (MEMNB_SYMBOL_SERVER).</summary>
    private static Option<string?> SymbolServerOption()
    {
        var option = new Option<string?>("--symbol-server")
        {
            Description = "Download missing portable PDBs from this symbol server for managed frames' file:line, e.g. https://msdl.microsoft.com/download/symbols (default: MEMNB_SYMBOL_SERVER; off without either)",
            HelpName = "URL",
            Recursive = true,
        };
        option.Validators.Add(result =>
        {
            var value = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                result.AddError($"--symbol-server: '{value}' is not an http or https URL");
        });
        return option;
    }

    private sealed class PrintVersion(TextWriter output) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            var assembly = typeof(MemnbCommandLine).Assembly;
            output.WriteLine(assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
                ?? assembly.GetName().Version?.ToString());
            return (int)ExitCode.Ok;
        }
    }

    /// <summary>"-x" or "--name": an option, not a value such as "-1" or "-".</summary>
    internal static bool LooksLikeOption(string token) =>
        token.Length > 1 && token[0] == '-' && (char.IsLetter(token[1]) || (token[1] == '-' && token.Length > 2));

    /// <summary>
    /// One line naming what is wrong and one usage line, instead of the whole help: an unknown option first
    /// (System.CommandLine takes it for the FILE argument and then blames the real file as unexpected).
    /// </summary>
    private static int UsageError(ParseResult parse, TextWriter error)
    {
        var commandResult = parse.CommandResult;
        var path = string.Join(' ', Ancestry(commandResult).Reverse());
        var problem = UnknownOption(parse) is { } unknown ? $"unknown option '{unknown}'"
            : parse.UnmatchedTokens.FirstOrDefault() is { } extra ? $"unexpected argument '{extra}'"
            : parse.Errors[0].Message;
        error.WriteLine($"{path}: {problem}");
        error.WriteLine($"usage: {Usage(path, commandResult.Command)}   ({path} --help lists every option)");
        return (int)ExitCode.Usage;
    }

    private static IEnumerable<string> Ancestry(CommandResult? result)
    {
        for (; result is not null; result = result.Parent as CommandResult)
            yield return result.Parent is null ? "memnb" : result.Command.Name;
    }

    /// <summary>The first option-like token (before any "--") that no option took: unmatched, or bound to a positional argument.</summary>
    private static string? UnknownOption(ParseResult parse)
    {
        var positional = new HashSet<Token>(parse.CommandResult.Children.OfType<ArgumentResult>().SelectMany(a => a.Tokens));
        var unmatched = new HashSet<string>(parse.UnmatchedTokens);
        foreach (var token in parse.Tokens)
        {
            if (token.Type == TokenType.DoubleDash)
                break;
            if (LooksLikeOption(token.Value) && (positional.Contains(token) || unmatched.Contains(token.Value)))
                return token.Value;
        }
        return null;
    }

    private static string Usage(string path, Command command)
    {
        if (command.Subcommands.Count > 0)
            return $"{path} {string.Join('|', command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name))} ...";
        var arguments = command.Arguments.Select(a => a.Arity.MaximumNumberOfValues > 1 ? $"[{a.Name}...]" : $"<{a.Name}>");
        return string.Join(' ', new[] { path, "[options]" }.Concat(arguments));
    }
}
