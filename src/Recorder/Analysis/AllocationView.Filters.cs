namespace MemNotebook.Recorder.Analysis;

/// <summary>
/// The fast filters of a view: over the Arrow columns directly, one pass, no DataFrame (a Microsoft.Data.Analysis
/// Filter of the 14M-row Allocations DataFrame takes seconds). Group with <see cref="TopTypes"/> and
/// <see cref="TopFunctions"/> (any n), and take the rows as a DataFrame with <see cref="Allocations"/>.
/// </summary>
public sealed partial class AllocationView
{
    /// <summary>The allocations of more than <paramref name="bytes"/> bytes.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public AllocationView LargerThan(long bytes)
    {
        var size = Columns.Size;
        var kept = new List<int>();
        for (int i = 0, n = Count; i < n; i++)
        {
            var r = rows?[i] ?? i;
            if (size[r] > bytes)
                kept.Add(r);
        }
        return Sub(kept, $"larger than {ByteUnits.Format(bytes)}");
    }

    /// <summary>The allocations of the type named <paramref name="name"/> (the types table's name, as the <c>type</c> column shows it).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public AllocationView OfType(string name)
    {
        if (TypeIdRange() is not { } range)
            return Matching(Columns.TypeId, id => Columns.TypeName(id) == name, $"of type {name}");
        // Each type id decided once (0 not yet, 1 matches, −1 not), by its slot in the ids' range.
        var (min, max) = range;
        var decided = new sbyte[max - min + 1];
        var types = Columns.TypeId;
        var kept = new List<int>();
        for (int i = 0, n = Count; i < n; i++)
        {
            var r = rows?[i] ?? i;
            ref var match = ref decided[types[r] - min];
            if (match == 0)
                match = Columns.TypeName(types[r]) == name ? (sbyte)1 : (sbyte)-1;
            if (match > 0)
                kept.Add(r);
        }
        return Sub(kept, $"of type {name}");
    }

    /// <summary>The allocations charged to the function named <paramref name="name"/> (as the <c>function</c> column and <see cref="TopFunctions"/> name it).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public AllocationView InFunction(string name)
    {
        // The stacks charged to the function, marked once; then one test per row.
        var (byStack, names) = Columns.OwnFunctionIndex;
        var target = Array.IndexOf(names, name);
        var kept = new List<int>();
        if (target >= 0)
        {
            var stacks = Columns.StackId;
            for (int i = 0, n = Count; i < n; i++)
            {
                var r = rows?[i] ?? i;
                var stack = stacks[r];
                if (((uint)stack < (uint)byStack.Length ? byStack[stack] : 0) == target)
                    kept.Add(r);
            }
        }
        return Sub(kept, $"in {name}");
    }

    /// <summary>The rows whose id (type or stack) matches, each distinct id tested once.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private AllocationView Matching(ReadOnlySpan<int> ids, Func<int, bool> match, string description)
    {
        var decided = new Dictionary<int, bool>();
        var kept = new List<int>();
        int lastId = 0;
        var lastMatch = false;
        var any = false;
        for (int i = 0, n = Count; i < n; i++)
        {
            var r = rows?[i] ?? i;
            var id = ids[r];
            if (!any || id != lastId)
            {
                if (!decided.TryGetValue(id, out lastMatch))
                    decided.Add(id, lastMatch = match(id));
                lastId = id;
                any = true;
            }
            if (lastMatch)
                kept.Add(r);
        }
        return Sub(kept, description);
    }

    private AllocationView Sub(List<int> kept, string description) =>
        new(Capture, kept.ToArray(), rows is null ? description : $"{Description}, {description}");
}
