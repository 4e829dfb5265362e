using System.Diagnostics;
using System.Reflection;

namespace MemNotebook.Testing;

/// <summary>The test a limit belongs to: its name for messages and the class whose frames are its own code.</summary>
internal static class TestIdentity
{
    /// <summary>The outermost type of <paramref name="type"/> that the compiler did not generate (a lambda's closure, an async state machine).</summary>
    public static Type? UserType(Type? type)
    {
        while (type is not null && type.Name.StartsWith('<') && type.DeclaringType is not null)
            type = type.DeclaringType;
        return type;
    }

    /// <summary>"Namespace.Class.Method" of a method, the async or iterator method for a state machine's MoveNext.</summary>
    public static string NameOf(MethodBase method)
    {
        var type = method.DeclaringType;
        var name = method.Name;
        if (type is not null && type.Name.StartsWith('<'))
        {
            var end = type.Name.IndexOf('>');
            if (end > 1)
                name = type.Name[1..end];
        }
        // A lambda or local function of the method: <Method>b__3_0, <Method>g__Local|3_0.
        if (name.StartsWith('<') && name.IndexOf('>') is > 1 and var close)
            name = name[1..close];
        var owner = UserType(type);
        return owner is null ? name : $"{owner.FullName}.{name}";
    }

    /// <summary>The first method on the stack outside this assembly: the test that called <see cref="MemoryLimits"/>.</summary>
    public static (string Name, Type? Class) Caller()
    {
        foreach (var frame in new StackTrace(1, false).GetFrames())
        {
            var method = frame.GetMethod();
            if (method is null || method.DeclaringType?.Assembly == typeof(TestIdentity).Assembly || method.DeclaringType?.Assembly == typeof(object).Assembly)
                continue;
            return (NameOf(method), UserType(method.DeclaringType));
        }
        return ("(unknown test)", null);
    }
}
