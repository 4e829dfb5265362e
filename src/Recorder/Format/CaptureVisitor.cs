namespace MemNotebook.Recorder.Format;

/// <summary>
/// Receives the records of a capture in file order from <see cref="CaptureReader"/>. Override what
/// you need; a sink that keeps only aggregates stays bounded however large the capture is.
/// Records are validated before they are delivered.
/// </summary>
public abstract class CaptureVisitor
{
    public virtual void OnHeader(in CaptureHeader header) { }
    public virtual void OnClock(in ClockRecord clock) { }
    public virtual void OnType(in TypeRecord type) { }
    public virtual void OnStackNode(in StackNodeRecord node) { }
    public virtual void OnFrame(in FrameRecord frame) { }
    public virtual void OnThread(in ThreadRecord thread) { }
    public virtual void OnThreadName(in ThreadNameRecord name) { }
    public virtual void OnSnapshot(in SnapshotRecord snapshot) { }
    public virtual void OnEnd(in EndRecord end) { }
    public virtual void OnGcStart(in GcStartRecord gc) { }
    public virtual void OnGcEnd(in GcEndRecord gc) { }
    public virtual void OnSuspend(long ticks) { }
    public virtual void OnResume(long ticks) { }
    public virtual void OnModule(in ModuleRecord module) { }

    /// <summary>Every ALLOC and NATIVE_ALLOC (see <see cref="AllocationRecord.Allocator"/>).</summary>
    public virtual void OnAllocation(in AllocationRecord allocation) { }

    /// <summary>
    /// A run of consecutive ALLOC records of one thread stream, as columns. By default each row goes to
    /// <see cref="OnAllocation"/>; a sink that can take columns whole overrides this (the Arrow conversion).
    /// </summary>
    public virtual void OnAllocations(in AllocationBlock block)
    {
        for (var i = 0; i < block.Count; i++)
            OnAllocation(block[i]);
    }

    /// <summary>
    /// Called once per allocation a FREE record names, and once per native allocation when the
    /// NATIVE_FREE records that release it are read (always after its <see cref="OnAllocation"/>).
    /// </summary>
    public virtual void OnFree(in FreeRecord free) { }

    /// <summary>
    /// Consecutive sequence numbers <paramref name="firstSequence"/> … + <paramref name="count"/> − 1 of one
    /// thread stream named by a FREE record, all freed by the GC that ended at <paramref name="ticks"/>. By
    /// default each goes to <see cref="OnFree"/>.
    /// </summary>
    public virtual void OnFreeRun(int threadStream, long firstSequence, long count, long ticks, long gcIndex)
    {
        for (long i = 0; i < count; i++)
            OnFree(new FreeRecord(threadStream, firstSequence + i, ticks, gcIndex));
    }

    /// <summary>Called once per AGG_TABLE record of an aggregated capture; the last one holds the totals.</summary>
    public virtual void OnAggregateTable(AggregateTableRecord table) { }

    /// <summary>Called after the last whole chunk, with the tables and the clock (frames resolve only now).</summary>
    public virtual void OnFinished(CaptureReadResult result) { }
}
