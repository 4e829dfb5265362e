using Microsoft.Data.Analysis;

namespace MemNotebook.Recorder.Analysis;

/// <summary>
/// The readable columns of the Allocations DataFrame: <c>type</c> (the types table's name of <c>type_id</c>) and
/// <c>function</c> (the function the allocation is charged to: the stacks table's <c>function</c> of <c>stack_id</c>).
/// Each distinct name is one string shared by every row that has it, so a column costs a reference (8 bytes) a row.
/// </summary>
public static class ReadableColumns
{
    public const string Type = "type";
    public const string Function = "function";

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void AddTo(DataFrame frame, AllocationColumns columns)
    {
        var types = columns.TypeId;
        var stacks = columns.StackId;
        var typeNames = new Dictionary<int, string>();
        var functionNames = new Dictionary<int, string>();
        var typeColumn = new StringDataFrameColumn(Type, 0);
        var functionColumn = new StringDataFrameColumn(Function, 0);
        for (var i = 0; i < columns.Count; i++)
        {
            var type = types[i];
            if (!typeNames.TryGetValue(type, out var typeName))
                typeNames.Add(type, typeName = columns.TypeName(type));
            typeColumn.Append(typeName);
            var stack = stacks[i];
            if (!functionNames.TryGetValue(stack, out var function))
                functionNames.Add(stack, function = columns.OwnFunction(stack));
            functionColumn.Append(function);
        }
        frame.Columns.Add(typeColumn);
        frame.Columns.Add(functionColumn);
    }
}
