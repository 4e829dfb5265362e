namespace MemNotebook.Kernel.Tests;

/// <summary>One recording at a time per process: every kernel test runs in this collection, one after another.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class KernelCollection
{
    public const string Name = "kernel";
}
