using System.Text.RegularExpressions;
using MemNotebook.Recorder.Tests.Cli;
using Xunit;

namespace MemNotebook.Recorder.Tests.Architecture;

/// <summary>
/// The Recorder reads in one direction (docs/architecture.md, "Layers of the Recorder"): each folder uses only its own
/// layer and those below it. Every source file's folder is mapped to its layer, and so is every
/// <c>MemNotebook.Recorder.X</c> namespace it uses — a using directive, a qualified name, or a name qualified from the
/// <c>MemNotebook.Recorder</c> namespace (<c>Symbols.FrameNaming</c>) — and the front object <c>MemNotebook.Capture</c>,
/// by its full or its short name.
/// </summary>
public class LayeringTests
{
    /// <summary>The layers, lowest first; a folder not listed is an error (a new folder takes its place here and in the docs).</summary>
    internal static readonly IReadOnlyDictionary<string, (int Layer, string Name)> Layers = new Dictionary<string, (int, string)>
    {
        ["Storage"] = (0, "storage"),
        ["Format"] = (1, "format"),
        ["Symbols"] = (2, "symbols"),
        ["Stacks"] = (3, "stacks and naming"),
        ["Arrow"] = (4, "tables"),
        ["Analysis"] = (5, "analysis"),
        [FrontObject] = (5, "analysis"),
        ["Reports"] = (6, "reports and exports"),
        ["Exports"] = (6, "reports and exports"),
        ["Sql"] = (6, "reports and exports"),
        // Beside the reading path: they may use every layer, and no layer of it uses them.
        ["Tracing"] = (7, "processes"),
        ["Launching"] = (7, "processes"),
        ["Attaching"] = (7, "processes"),
    };

    /// <summary>The class <c>MemNotebook.Capture</c> (src/Recorder/Capture.cs): the loaded capture, an analysis object.</summary>
    private const string FrontObject = "MemNotebook.Capture";

    [Fact]
    public void No_source_file_of_the_recorder_uses_a_layer_above_its_own()
    {
        var root = Path.Combine(CliUsageTests.RepositoryRoot(), "src", "Recorder");
        var files = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !IsBuildOutput(Path.GetRelativePath(root, f)))
            .Select(f => (Path: Path.GetRelativePath(root, f).Replace('\\', '/'), Text: File.ReadAllText(f)))
            .ToList();
        Assert.True(files.Count > 80, $"{files.Count} source files under {root}");
        var violations = Violations(files);
        Assert.True(violations.Count == 0, "references upward (docs/architecture.md, \"Layers of the Recorder\"):\n" + string.Join("\n", violations));
    }

    [Fact]
    public void A_reference_that_goes_upward_is_named_with_its_file_and_layers()
    {
        var files = new[]
        {
            ("Symbols/Good.cs", "using MemNotebook.Recorder.Format;\nnamespace MemNotebook.Recorder.Symbols;\npublic static class Good { }\n"),
            ("Reports/Page.cs", "namespace MemNotebook.Recorder.Reports;\npublic static class Page { }\n"),
            ("Analysis/View.cs", "namespace MemNotebook.Recorder.Analysis;\npublic sealed class View { }\n"),
            ("Format/Reader.cs",
                "using MemNotebook.Recorder.Symbols;\n" +
                "namespace MemNotebook.Recorder.Format;\n" +
                "// Reports.Page in a comment is no reference; \"Analysis.View\" in a string neither.\n" +
                "class Reader { object p = Reports.Page.X; object v = MemNotebook.Recorder.Analysis.View.Y; object c = global::MemNotebook.Capture.Z; object a = Apache.Arrow.Field.W; }\n"),
            ("Arrow/Table.cs", "namespace MemNotebook.Recorder.Arrow;\nclass Table { object s = Symbols.Good.X; }\n"),
            ("Widgets/New.cs", "namespace MemNotebook.Recorder.Widgets;\nclass New { }\n"),
            ("Stacks/Walk.cs", "namespace MemNotebook.Recorder.Stacks;\nclass Walk { int Depth(Capture capture) => 0; }\n"),
            ("Symbols/Scope.cs", "namespace MemNotebook.Recorder.Symbols;\nclass Scope { object s = Capture.SubmissionScope; }\n"),
            ("Storage/Cells.cs", "namespace MemNotebook.Recorder.Storage;\nclass Cells { System.Func<Capture, int>? count; }\n"),
            ("Arrow/Run.cs",
                "namespace MemNotebook.Recorder.Arrow;\n" +
                "public sealed record Run(string Path, int Capture);\n" +
                "class Runs { int c = new Run(\"\", 1).Capture; public int Capture { get; } int d => Capture + 1; }\n"),
        };
        Assert.Equal(new[]
        {
            "Format/Reader.cs (format) uses MemNotebook.Recorder.Symbols (symbols)",
            "Format/Reader.cs (format) uses MemNotebook.Recorder.Reports (reports and exports)",
            "Format/Reader.cs (format) uses MemNotebook.Recorder.Analysis (analysis)",
            "Format/Reader.cs (format) uses MemNotebook.Capture (analysis)",
            "Widgets/New.cs: the folder Widgets has no layer (LayeringTests.Layers, docs/architecture.md)",
            "Stacks/Walk.cs (stacks and naming) uses MemNotebook.Capture (analysis)",
            "Symbols/Scope.cs (symbols) uses MemNotebook.Capture (analysis)",
            "Storage/Cells.cs (storage) uses MemNotebook.Capture (analysis)",
        }, Violations(files));
    }

    private static bool IsBuildOutput(string relative) =>
        relative.StartsWith("bin" + Path.DirectorySeparatorChar, StringComparison.Ordinal)
        || relative.StartsWith("obj" + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>One line per file and upward reference (in the order met), or per file whose folder has no layer.</summary>
    internal static List<string> Violations(IReadOnlyList<(string Path, string Text)> files)
    {
        // The types each namespace declares: a name qualified from MemNotebook.Recorder ("Symbols.FrameNaming") counts
        // only when the second part is one of them, so a property or a local named like a folder is not a reference.
        var code = files.Select(f => (f.Path, Code: WithoutCommentsAndStrings(f.Text))).ToList();
        var typesOf = new Dictionary<string, HashSet<string>>();
        foreach (var (path, text) in code)
        {
            var folder = FolderOf(path);
            if (!typesOf.TryGetValue(folder, out var types))
                typesOf[folder] = types = new HashSet<string>(StringComparer.Ordinal);
            foreach (Match m in Declaration.Matches(text))
                types.Add(m.Groups[1].Value);
        }
        var violations = new List<string>();
        foreach (var (path, text) in code)
        {
            var folder = FolderOf(path);
            if (!Layers.TryGetValue(folder, out var own))
            {
                violations.Add($"{path}: the folder {folder} has no layer (LayeringTests.Layers, docs/architecture.md)");
                continue;
            }
            var seen = new HashSet<string>();
            foreach (Match m in Reference.Matches(text))
            {
                string used, name;
                if (m.Groups["front"].Success)
                    (used, name) = (FrontObject, FrontObject);
                else if (m.Groups["full"].Success)
                    (used, name) = (m.Groups["full"].Value, "MemNotebook.Recorder." + m.Groups["full"].Value);
                else if (typesOf.TryGetValue(m.Groups["short"].Value, out var types) && types.Contains(m.Groups["type"].Value))
                    (used, name) = (m.Groups["short"].Value, "MemNotebook.Recorder." + m.Groups["short"].Value);
                else
                    continue;
                if (used == folder || !Layers.TryGetValue(used, out var layer) || layer.Layer <= own.Layer || !seen.Add(name))
                    continue;
                violations.Add($"{path} ({own.Name}) uses {name} ({layer.Name})");
            }
        }
        return violations;
    }

    // A file directly in src/Recorder declares the front object (Capture.cs).
    private static string FolderOf(string path) => path.Contains('/') ? path[..path.IndexOf('/')] : FrontObject;

    private static readonly Regex Declaration =
        new(@"\b(?:class|struct|record|interface|enum)\s+(?:struct\s+|class\s+)?([A-Z]\w*)", RegexOptions.Compiled);

    private static readonly Regex Reference = new(
        @"(?<front>(?<![\w.])(?:global::)?MemNotebook\.Capture\b(?!\.Recorder))" +
        // The front object by its short name (no namespace MemNotebook.Recorder.Capture hides it): a static member
        // (Capture.Load), a declaration of one (Capture capture, Capture? c = ..., Capture Load(...)), a type argument
        // or tuple element (Func<Capture, int>), an array; not a member named Capture (record R(int Capture), x.Capture).
        @"|(?<front>(?<![\w.:])Capture(?=\.[A-Z]|\??[ \t]+[A-Za-z_@]\w*[ \t]*[,)=;({]|\[\]))" +
        @"|(?<front>(?<=[<(,][ \t]*)Capture(?=\??[ \t]*[,>]))" +
        @"|MemNotebook\.Recorder\.(?<full>[A-Z]\w*)" +
        @"|(?<![\w.:])(?<short>[A-Z]\w*)\.(?<type>[A-Z]\w*)",
        RegexOptions.Compiled);

    // Comments and the contents of string and character literals (an interpolation's holes are kept as code).
    private static string WithoutCommentsAndStrings(string text)
    {
        var result = new System.Text.StringBuilder(text.Length);
        var i = 0;
        while (i < text.Length)
        {
            if (text[i] == '/' && i + 1 < text.Length && text[i + 1] == '/')
            {
                while (i < text.Length && text[i] != '\n')
                    i++;
            }
            else if (text[i] == '/' && i + 1 < text.Length && text[i + 1] == '*')
            {
                var end = text.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = end < 0 ? text.Length : end + 2;
            }
            else if (text[i] == '"' || text[i] == '\'')
                i = SkipLiteral(text, i, result);
            else
                result.Append(text[i++]);
        }
        return result.ToString();
    }

    // Skips the literal starting at quote; the holes of an interpolated string ($"...{x}...") are appended as code.
    private static int SkipLiteral(string text, int quote, System.Text.StringBuilder code)
    {
        var prefix = quote - 1;
        var verbatim = false;
        var interpolated = false;
        while (prefix >= 0 && text[prefix] is '$' or '@')
        {
            verbatim |= text[prefix] == '@';
            interpolated |= text[prefix] == '$';
            prefix--;
        }
        var delimiter = text[quote];
        if (delimiter == '"' && text.AsSpan(quote).StartsWith("\"\"\"", StringComparison.Ordinal))
        {
            // A raw string literal: up to the same run of quotes.
            var run = 0;
            while (quote + run < text.Length && text[quote + run] == '"')
                run++;
            var close = text.IndexOf(new string('"', run), quote + run, StringComparison.Ordinal);
            return close < 0 ? text.Length : close + run;
        }
        var i = quote + 1;
        while (i < text.Length)
        {
            var c = text[i];
            if (c == '\\' && !verbatim)
                i += 2;
            else if (c == delimiter && verbatim && i + 1 < text.Length && text[i + 1] == delimiter)
                i += 2;
            else if (c == delimiter)
                return i + 1;
            else if (interpolated && c == '{' && i + 1 < text.Length && text[i + 1] == '{')
                i += 2;
            else if (interpolated && c == '{')
            {
                // A hole: code up to its closing brace (nested literals skipped the same way).
                var depth = 1;
                i++;
                while (i < text.Length && depth > 0)
                {
                    if (text[i] == '"' || text[i] == '\'')
                    {
                        i = SkipLiteral(text, i, code);
                        continue;
                    }
                    if (text[i] == '{')
                        depth++;
                    else if (text[i] == '}' && --depth == 0)
                        break;
                    code.Append(text[i++]);
                }
                code.Append(' ');
                i++;
            }
            else
                i++;
        }
        return i;
    }
}
