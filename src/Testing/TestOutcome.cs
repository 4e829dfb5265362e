using System.Reflection;

namespace MemNotebook.Testing;

/// <summary>
/// How a test says it cannot be measured: skipped, with the reason, through the running framework's own skip
/// (NUnit's IgnoreException, MSTest's AssertInconclusiveException, xunit v3's dynamic skip), or failed when
/// MEMNB_TEST_REQUIRE_EXACT=1 or the framework has no skip a test can raise itself (xunit v2).
/// </summary>
internal static class TestOutcome
{
    public const string RequireExactVariable = "MEMNB_TEST_REQUIRE_EXACT";

    // xunit v3 reports an exception whose message starts with this as a skip, the rest being the reason.
    private const string XunitDynamicSkip = "$XunitDynamicSkip$";

    public static bool RequireExact => Environment.GetEnvironmentVariable(RequireExactVariable) == "1";

    public static Exception CannotMeasure(string message)
    {
        if (RequireExact)
            return new MemoryLimitException(message + $" ({RequireExactVariable}=1: failed instead of skipped)");
        return FrameworkSkip(message) ?? new MemoryLimitException(message);
    }

    private static Exception? FrameworkSkip(string message)
    {
        foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies())
        {
            switch (assembly.GetName().Name)
            {
                case "nunit.framework":
                    if (Create(assembly, "NUnit.Framework.IgnoreException", message) is { } ignore)
                        return ignore;
                    break;
                case "Microsoft.VisualStudio.TestPlatform.TestFramework":
                case "MSTest.TestFramework":
                    if (Create(assembly, "Microsoft.VisualStudio.TestTools.UnitTesting.AssertInconclusiveException", message) is { } inconclusive)
                        return inconclusive;
                    break;
                case "xunit.v3.core":
                    return new MemoryLimitException(XunitDynamicSkip + message);
            }
        }
        return null;
    }

    private static Exception? Create(Assembly assembly, string typeName, string message)
    {
        var type = assembly.GetType(typeName);
        var constructor = type?.GetConstructor([typeof(string)]);
        return constructor?.Invoke([message]) as Exception;
    }
}
