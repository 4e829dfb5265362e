using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace MemNotebook.Cli;

/// <summary>
/// Options whose values memnb parses itself, so a bad value is one usage error naming the option and the value
/// (System.CommandLine's own conversion names .NET types, and a validator that reads an unconverted value throws).
/// </summary>
internal static class CliValues
{
    /// <summary>A whole number of at least <paramref name="min"/>, <paramref name="defaultValue"/> when not given.</summary>
    public static Option<int> WholeNumber(string name, int min, int defaultValue, string description) => new(name)
    {
        Description = description,
        HelpName = "N",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result => ParseWholeNumber(result, name, min) ?? defaultValue,
    };

    /// <summary>A whole number of at least <paramref name="min"/>, null when not given.</summary>
    public static Option<int?> OptionalWholeNumber(string name, int min, string description) => new(name)
    {
        Description = description,
        HelpName = "N",
        CustomParser = result => ParseWholeNumber(result, name, min),
    };

    /// <summary>
    /// --max-allocations: the most allocations a capture is read with (<see cref="MemNotebook.Recorder.Format.AllocationLimit"/>);
    /// null when not given (then MEMNB_MAX_ALLOCATIONS, else the default by the file's size).
    /// </summary>
    public static Option<long?> MaxAllocations() => new("--max-allocations")
    {
        Description = "Read a capture of up to N allocations (default: 64 per byte of the file, at least 16,777,216; or MEMNB_MAX_ALLOCATIONS)",
        HelpName = "N",
        CustomParser = result => ParseWholeNumber(result, "--max-allocations", 1L),
    };

    /// <summary>
    /// One of the values of <typeparamref name="T"/>, written in lowercase (any case is accepted); null when not
    /// given (the help names <paramref name="defaultValue"/> in lowercase, as it is written).
    /// </summary>
    public static Option<T?> Choice<T>(string name, T defaultValue, string description) where T : struct, Enum
    {
        var names = Enum.GetNames<T>().Select(n => n.ToLowerInvariant()).ToArray();
        var option = new Option<T?>(name)
        {
            Description = $"{description} [default: {defaultValue.ToString().ToLowerInvariant()}]",
            HelpName = string.Join('|', names),
            CustomParser = result =>
            {
                var text = Single(result);
                // Names only: Enum.TryParse would also take "3" or "bytes,count".
                if (names.Contains(text.ToLowerInvariant()))
                    return Enum.Parse<T>(text, ignoreCase: true);
                result.AddError($"{name} must be one of {string.Join(", ", names)}, not '{text}'");
                return null;
            },
        };
        option.CompletionSources.Add(names);
        return option;
    }

    /// <summary>
    /// The capture argument: System.CommandLine binds an unknown "--x" to it, which must be the unknown option it
    /// is (when it stands alone, nothing else reports it).
    /// </summary>
    public static Argument<string> CaptureFile(string description)
    {
        var file = new Argument<string>("FILE") { Description = description };
        file.Validators.Add(result =>
        {
            var value = result.Tokens.Count == 0 ? null : result.Tokens[0].Value;
            if (value is not null && MemnbCommandLine.LooksLikeOption(value))
                result.AddError($"unknown option '{value}'");
        });
        return file;
    }

    private static int? ParseWholeNumber(ArgumentResult result, string name, int min) =>
        ParseWholeNumber(result, name, min, int.MaxValue) is long value ? (int)value : null;

    private static long? ParseWholeNumber(ArgumentResult result, string name, long min, long max = long.MaxValue)
    {
        var text = Single(result);
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) || value > max)
        {
            result.AddError($"{name} takes a whole number, not '{text}'");
            return null;
        }
        if (value < min)
        {
            result.AddError($"{name} must be {min} or more, not {value}");
            return null;
        }
        return value;
    }

    private static string Single(ArgumentResult result) => result.Tokens.Count == 0 ? "" : result.Tokens[^1].Value;
}
