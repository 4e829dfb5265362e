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
    public AllocationView OfType(string name) => Matching(Columns.TypeId, id => Columns.TypeName(id) == name, $"of type {name}");

    /// <summary>The allocations charged to the function named <paramref name="name"/> (as the <c>function</c> column and <see cref="TopFunctions"/> name it).</summary>
    public AllocationView InFunction(string name) => Matching(Columns.StackId, id => Columns.OwnFunction(id) == name, $"in {name}");

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
