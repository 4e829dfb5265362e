using Microsoft.Data.Analysis;

namespace MemNotebook.Recorder.Analysis;

/// <summary>
/// The readable columns of the Allocations DataFrame: <c>type</c> (the types table's name of <c>type_id</c>),
/// <c>function</c> (the function the allocation is charged to: the stacks table's <c>function</c> of <c>stack_id</c>),
/// and <c>file</c> and <c>line</c> of that function's frame where the frames table knows them (null otherwise).
/// Each distinct name is one string shared by every row that has it, so a column costs a reference (8 bytes) a row
/// (<c>line</c> 4 bytes and a bit).
/// </summary>
public static class ReadableColumns
{
    public const string Type = "type";
    public const string Function = "function";
    public const string File = "file";
    public const string Line = "line";

    public static void AddTo(DataFrame frame, AllocationColumns columns) => AddTo(frame, columns, null);

    /// <summary>The columns for <paramref name="rows"/> of the allocations table (all of them when null), in that order.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void AddTo(DataFrame frame, AllocationColumns columns, int[]? rows)
    {
        var types = columns.TypeId;
        var stacks = columns.StackId;
        var (functionByStack, functionNames) = columns.OwnFunctionIndex;
        var count = rows?.Length ?? columns.Count;
        var typeNames = new Dictionary<int, string>();
        var typeValues = new string[count];
        var functionValues = new string[count];
        var (fileByStack, lineByStack) = columns.ChargedSources;
        var fileValues = new string?[count];
        var lineValues = new byte[count * sizeof(int)];
        var lineSpan = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(lineValues.AsSpan());
        var lineValid = new byte[(count + 7) / 8];
        var lineNulls = 0;
        for (var i = 0; i < count; i++)
        {
            var r = rows is null ? i : rows[i];
            var type = types[r];
            if (!typeNames.TryGetValue(type, out var typeName))
                typeNames.Add(type, typeName = columns.TypeName(type));
            typeValues[i] = typeName;
            var stack = stacks[r];
            functionValues[i] = functionNames[(uint)stack < (uint)functionByStack.Length ? functionByStack[stack] : 0];
            if ((uint)stack < (uint)fileByStack.Length && fileByStack[stack] is { } file)
            {
                fileValues[i] = file;
                lineSpan[i] = lineByStack[stack];
                lineValid[i >> 3] |= (byte)(1 << (i & 7));
            }
            else
                lineNulls++;
        }
        frame.Columns.Add(new StringDataFrameColumn(Type, typeValues));
        frame.Columns.Add(new StringDataFrameColumn(Function, functionValues));
        frame.Columns.Add(new StringDataFrameColumn(File, fileValues));
        frame.Columns.Add(new Int32DataFrameColumn(Line, lineValues, lineValid, count, lineNulls));
    }
}
