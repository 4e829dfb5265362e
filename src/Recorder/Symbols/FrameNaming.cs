using System.Text;
using MemNotebook.Recorder.Format;

namespace MemNotebook.Recorder.Symbols;

/// <summary>
/// The one place a frame's shown name is made: every report, table and export names frames through it.
/// A managed function is recorded as the runtime names it ("Namespace.Type+Nested.Method", the compiler's
/// names for lambdas, local functions, state machines and script submissions); <see cref="Readable"/> turns
/// that into the name the code was written with, and the raw name stays in the frames table's
/// <c>raw_function</c> column:
/// <list type="bullet">
/// <item>lambdas: <c>App.Program+&lt;&gt;c.&lt;Main&gt;b__0_0</c> → <c>lambda in App.Program.Main</c>
/// (display classes and the lambda cache class <c>&lt;&gt;c</c> are hidden);</item>
/// <item>local functions: <c>App.Program.&lt;Work&gt;g__Helper|3_0</c> → <c>App.Program.Work › Helper</c>;</item>
/// <item>state machines (async methods and iterators): <c>App.Program+&lt;Work&gt;d__3.MoveNext</c> →
/// <c>App.Program.Work (async)</c>;</item>
/// <item>generic arity: <c>System.Collections.Generic.List`1.set_Capacity</c> →
/// <c>System.Collections.Generic.List&lt;T&gt;.set_Capacity</c> (<c>&lt;T1,T2&gt;</c> for two and more);</item>
/// <item>nested types: <c>Outer+Inner.M</c> → <c>Outer.Inner.M</c>;</item>
/// <item>script submissions (notebook cells): <c>Submission#5+&lt;&lt;Initialize&gt;&gt;d__0.MoveNext</c> →
/// <c>cell 5</c>, <c>Submission#5.Work</c> → <c>cell 5 › Work</c>, a lambda in it →
/// <c>lambda in cell 5 › Work</c>.</item>
/// </list>
/// A name it cannot take apart comes back as it is; so does every name without compiler-generated parts,
/// arity or nesting. Native frames keep their (demangled) symbol names.
/// </summary>
public static class FrameNaming
{
    /// <summary>A frame, or the function an allocation is charged to, with no name.</summary>
    public const string Unknown = "[unknown]";

    /// <summary>A name that may be empty (an inlined function DWARF does not name): itself, <see cref="Unknown"/> when empty.</summary>
    public static string OrUnknown(string shown) => shown.Length > 0 ? shown : Unknown;

    /// <summary>How an inlined function is named in stacks (stats top stacks, flame trees, exports): "name [inlined]".</summary>
    public static string Inlined(string function) => function + " [inlined]";

    /// <summary>A frame without a function name in trees and exports: module+0xoffset when its module is known, else null.</summary>
    public static string? ModuleOffset(string module, ulong offset) =>
        module.Length > 0 ? $"{Path.GetFileName(module)}+0x{offset:x}" : null;

    /// <summary>A frame known by its address alone: 0xip.</summary>
    public static string Address(ulong ip) => $"0x{ip:x}";

    /// <summary>The name a frame is shown with: <see cref="Readable"/> for a managed frame, else the function as recorded.</summary>
    public static string Shown(FrameKind kind, string function) => kind == FrameKind.Managed ? Readable(function) : function;

    /// <summary>A managed function's name as the code was written (see the class summary); the raw name when it does not parse.</summary>
    public static string Readable(string raw)
    {
        if (raw.Length == 0 || (raw.AsSpan().IndexOfAny('`', '+', '<') < 0 && !raw.StartsWith(SubmissionPrefix, StringComparison.Ordinal)))
            return raw;
        try
        {
            return ReadableOrNull(raw) ?? raw;
        }
        catch (FormatException)
        {
            return raw;
        }
    }

    /// <summary>
    /// N for a function of notebook cell N (the script class <c>Submission#N</c>), given as shown (<c>cell 5</c>,
    /// <c>cell 5 › Work</c>, <c>lambda in cell 5 › Work</c>, <c>cell 5 (async)</c>) or as recorded (<c>Submission#5…</c>); else null.
    /// </summary>
    public static int? CellOf(string function)
    {
        var s = function.AsSpan();
        if (s.StartsWith(SubmissionPrefix, StringComparison.Ordinal))
            s = s[SubmissionPrefix.Length..];
        else
        {
            if (s.StartsWith(LambdaPrefix, StringComparison.Ordinal))
                s = s[LambdaPrefix.Length..];
            if (!s.StartsWith(CellPrefix, StringComparison.Ordinal))
                return null;
            s = s[CellPrefix.Length..];
            var digitsEnd = 0;
            while (digitsEnd < s.Length && char.IsAsciiDigit(s[digitsEnd]))
                digitsEnd++;
            if (digitsEnd < s.Length && s[digitsEnd] != ' ')
                return null;
        }
        var end = 0;
        while (end < s.Length && char.IsAsciiDigit(s[end]))
            end++;
        return end > 0 && int.TryParse(s[..end], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n)
            ? n : null;
    }

    private const string SubmissionPrefix = "Submission#";
    private const string CellPrefix = "cell ";
    private const string LambdaPrefix = "lambda in ";

    private sealed record Member(List<string> Path, bool Lambda, bool Async);

    private static string? ReadableOrNull(string raw)
    {
        var split = LastDotOutsideBrackets(raw);
        if (split <= 0)
            return null;
        if (raw[split - 1] == '.')
            split--; // ".ctor", ".cctor"
        var typeName = raw[..split];
        var method = raw[(split + 1)..];

        var levels = SplitOutsideBrackets(typeName, '+');
        var owner = new List<string>();
        var submission = false;
        Member? stateMachine = null;
        for (var i = 0; i < levels.Count; i++)
        {
            var level = levels[i];
            if (i == 0 && TrySubmission(level, out var cell))
            {
                owner.Add(cell);
                submission = true;
            }
            else if (level.StartsWith("<>f__AnonymousType", StringComparison.Ordinal))
                owner.Add("anonymous type");
            else if (level.StartsWith("<>", StringComparison.Ordinal))
                continue; // display class, lambda cache
            else if (level.StartsWith('<'))
            {
                var generated = Generated(level);
                if (generated is { Kind: 'd' } && MemberOf(generated.Value.Inner) is { } inner)
                    stateMachine = inner with { Async = true };
                else
                    owner.Add(level);
            }
            else
                owner.Add(WithoutArity(level));
        }

        Member member;
        if (stateMachine is not null)
            member = method == "MoveNext" ? stateMachine : stateMachine with { Path = [.. stateMachine.Path, method] };
        else
            member = MemberOf(method) ?? new Member([method], false, false);

        var path = member.Path;
        if (submission && path.Count > 0 && path[0] == "Initialize")
            path = path.Skip(1).ToList(); // the cell's own code
        // "cell 5 › Type.Method › Local": the cell, then the type path and the member as in any other code.
        var text = new StringBuilder();
        text.AppendJoin('.', submission ? owner.Skip(1) : owner);
        if (path.Count > 0)
        {
            if (text.Length > 0)
                text.Append('.');
            text.AppendJoin(" › ", path);
        }
        if (submission)
            text.Insert(0, text.Length > 0 ? owner[0] + " › " : owner[0]);
        if (member.Async && path.Count > 0)
            text.Append(" (async)");
        if (member.Lambda)
            text.Insert(0, "lambda in ");
        return text.ToString();
    }

    // "<Work>b__0" (lambda), "<Work>g__Helper|3_0" (local function), "<Main>$" (top-level statements),
    // "<Initialize>" (a submission's code), nested: "<<Main>$>b__0_0". Null when m is generated some other way.
    private static Member? MemberOf(string m)
    {
        if (!m.StartsWith('<'))
            return new Member([m], false, false);
        var generated = Generated(m);
        if (generated is null || generated.Value.Inner.Length == 0)
            return null;
        var (inner, kind, rest) = generated.Value;
        var of = MemberOf(inner);
        if (of is null)
            return null;
        switch (kind)
        {
            case 'b':
                return of with { Lambda = true };
            case 'g':
                var bar = rest.IndexOf('|');
                var local = rest.StartsWith("__", StringComparison.Ordinal) ? rest[2..(bar < 0 ? rest.Length : bar)] : "";
                return local.Length == 0 ? null : of with { Path = [.. of.Path, local] };
            case 'd':
                return of with { Async = true };
            case '$':
            case '\0':
                return rest.Length <= 1 ? of : null;
            default:
                return null;
        }
    }

    // "<inner>k..." → (inner, k, the rest after k); k is '\0' when nothing follows.
    private static (string Inner, char Kind, string After)? Generated(string s)
    {
        var depth = 0;
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '<')
                depth++;
            else if (s[i] == '>' && --depth == 0)
            {
                var inner = s[1..i];
                return i + 1 < s.Length ? (inner, s[i + 1], s[(i + 2)..]) : (inner, '\0', "");
            }
        }
        return null;
    }

    private static bool TrySubmission(string level, out string cell)
    {
        const string prefix = "Submission#";
        cell = "";
        if (!level.StartsWith(prefix, StringComparison.Ordinal) || level.Length == prefix.Length)
            return false;
        for (var i = prefix.Length; i < level.Length; i++)
            if (!char.IsAsciiDigit(level[i]))
                return false;
        cell = "cell " + level[prefix.Length..];
        return true;
    }

    // "List`1" → "List<T>", "Dictionary`2" → "Dictionary<T1,T2>"; "List`1[[...]]" (arguments already given) → "List[[...]]".
    private static string WithoutArity(string name)
    {
        var tick = name.IndexOf('`');
        if (tick < 0)
            return name;
        var text = new StringBuilder();
        var i = 0;
        while (i < name.Length)
        {
            if (name[i] != '`')
            {
                text.Append(name[i++]);
                continue;
            }
            var start = ++i;
            while (i < name.Length && char.IsAsciiDigit(name[i]))
                i++;
            if (!int.TryParse(name.AsSpan(start, i - start), out var arity) || arity <= 0 || arity > 64)
                throw new FormatException();
            if (i < name.Length && name[i] == '[')
                continue;
            text.Append('<');
            if (arity == 1)
                text.Append('T');
            else
                text.AppendJoin(',', Enumerable.Range(1, arity).Select(n => "T" + n));
            text.Append('>');
        }
        return text.ToString();
    }

    private static int LastDotOutsideBrackets(string s)
    {
        var depth = 0;
        var last = -1;
        for (var i = 0; i < s.Length; i++)
        {
            switch (s[i])
            {
                case '<' or '[' or '(':
                    depth++;
                    break;
                case '>' or ']' or ')':
                    if (--depth < 0)
                        throw new FormatException();
                    break;
                case '.' when depth == 0:
                    last = i;
                    break;
            }
        }
        if (depth != 0)
            throw new FormatException();
        return last;
    }

    private static List<string> SplitOutsideBrackets(string s, char separator)
    {
        var parts = new List<string>();
        var depth = 0;
        var start = 0;
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] is '<' or '[' or '(')
                depth++;
            else if (s[i] is '>' or ']' or ')')
                depth--;
            else if (s[i] == separator && depth == 0)
            {
                parts.Add(s[start..i]);
                start = i + 1;
            }
        }
        parts.Add(s[start..]);
        return parts;
    }
}
