using System.Reflection;

namespace MemNotebook.Testing;

/// <summary>An attribute that puts a memory limit on a test (the xunit attributes of MemNotebook.Testing).</summary>
public interface IMemoryLimitAttribute
{
    MemoryLimit ToLimit();
}

/// <summary>What the xunit attributes (v2 and v3) share: one run per test, started by its first limit attribute.</summary>
internal static class XunitLimits
{
    public static void Before(object attribute, MethodInfo method)
    {
        if (ScopeContext.Current is { } current && ReferenceEquals(current, ScopeContext.Active) && current.Owner is Owner owner && owner.Method == method)
            return; // another limit attribute of this test started it with every limit
        var testClass = method.ReflectedType ?? method.DeclaringType;
        var limits = LimitAttributes(method).Concat(testClass is null ? [] : LimitAttributes(testClass)).ToList();
        var name = testClass is null ? method.Name : $"{testClass.FullName}.{method.Name}";
        LimitRun.Begin(new MemoryLimitRequest(name, limits) { TestClass = testClass }, new Owner(attribute, method));
    }

    public static void After(object attribute)
    {
        if (ScopeContext.Current is not { Owner: Owner owner } run || !ReferenceEquals(owner.Attribute, attribute))
            return;
        var measurement = run.End();
        if (measurement.Failure is not null)
            throw new MemoryLimitExceededException(measurement);
    }

    public static MemoryLimit LimitOf(Type attribute, MemoryLimitKind kind, string size, string? type, string? frame)
    {
        var name = attribute.Name.EndsWith("Attribute", StringComparison.Ordinal) ? attribute.Name[..^"Attribute".Length] : attribute.Name;
        var source = $"[{name}(\"{size}\"{(type is null ? "" : $", Type = \"{type}\"")}{(frame is null ? "" : $", Frame = \"{frame}\"")})]";
        return new MemoryLimit(kind, size) { Type = type, Frame = frame, Source = source };
    }

    private static IEnumerable<MemoryLimit> LimitAttributes(MemberInfo member) =>
        member.GetCustomAttributes(inherit: true).OfType<IMemoryLimitAttribute>().Select(a => a.ToLimit());

    private sealed record Owner(object Attribute, MethodInfo Method);
}
