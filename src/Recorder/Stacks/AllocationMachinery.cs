namespace MemNotebook.Recorder.Stacks;

/// <summary>
/// Runtime and BCL methods that allocate on someone else's behalf. An allocation is attributed to
/// the innermost managed frame that is not one of these. The one list every report uses.
/// </summary>
public static class AllocationMachinery
{
    private static readonly HashSet<string> Methods = new(StringComparer.Ordinal)
    {
        "System.String.FastAllocateString",
        "System.String.Ctor",
        "System.GC.AllocateUninitializedArray",
        "System.GC.AllocateArray",
        "System.GC.AllocateNewArray",
        "System.GC._AllocateUninitializedArray",
        "System.Runtime.CompilerServices.RuntimeHelpers.GetUninitializedObject",
        "System.Runtime.CompilerServices.RuntimeHelpers.GetUninitializedObjectInternal",
        "System.Runtime.CompilerServices.RuntimeHelpers.AllocateUninitializedClone",
        "System.Array.CreateInstance",
        "System.Array.CreateInstanceCore",
        "System.Array.CreateInstanceFromArrayType",
        "System.Array.InternalCreate",
        "System.Array.InternalCreateFromArrayType",
        "System.Object.MemberwiseClone",
    };

    // Compiler-generated helpers of the GC allocation methods, e.g. System.GC.<AllocateUninitializedArray>g__...
    private static readonly string[] Prefixes =
    [
        "System.GC.<Allocate",
        "System.GC.<_Allocate",
        "System.GC._Allocate",
    ];

    /// <summary>True for a function name (as recorded, possibly with generic arguments or a signature) in the list.</summary>
    public static bool IsMachinery(string function)
    {
        if (Methods.Contains(function))
            return true;
        foreach (var prefix in Prefixes)
            if (function.StartsWith(prefix, StringComparison.Ordinal))
                return true;
        // Generic instantiations and signatures: "System.GC.AllocateUninitializedArray[System.Byte]", "...<T>", "...(int)".
        var cut = function.IndexOfAny(['[', '<', '(', '`'], LastDot(function) + 1);
        return cut > 0 && Methods.Contains(function[..cut]);
    }

    private static int LastDot(string function)
    {
        // The method name follows the last '.' outside brackets; good enough to skip "Namespace.Type.".
        var bracket = function.IndexOfAny(['[', '(']);
        return (bracket < 0 ? function : function[..bracket]).LastIndexOf('.');
    }
}
