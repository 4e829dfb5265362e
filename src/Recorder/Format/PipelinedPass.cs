using System.Reflection;
using System.Runtime.ExceptionServices;

namespace MemNotebook.Recorder.Format;

/// <summary>
/// One pass of <see cref="CapturePass"/> on two threads: a thread of its own reads the file (zstd, the records decoded,
/// validated) into a few reused batches of columns, and the calling thread gives them to the visitor, so the visitor's
/// per-allocation work runs beside the decoding rather than after it. A stream's chunks carry its delta state (ticks,
/// stack, address, sequence), so the decoding itself stays on one thread in file order. The visitor gets what a
/// sequential read gives it, in the same order and on the calling thread: consecutive blocks of one thread stream as
/// one larger block (still a run of consecutive allocations of that stream), every other callback it overrides in its
/// place between them, <see cref="CaptureVisitor.OnFinished"/> last, and the progress as batches are taken. An error of
/// the reader (the file and offset named) is thrown on the calling thread after what was read before it reached the
/// visitor; an error of the visitor (or its progress) is thrown as it is once the reader stopped at its next batch, so
/// no thread is left holding the file. The reader's tables grow on its thread: a visitor reads them in
/// <see cref="CaptureVisitor.OnFinished"/>, not before. Memory: <see cref="Depth"/> batches of <see cref="BatchRows"/>
/// rows (32 bytes a row: 2 MiB), allocated once per pass.
/// </summary>
internal static class PipelinedPass
{
    /// <summary>Rows a batch holds: the reader's blocks (up to 4,096 rows) of one stream merged.</summary>
    internal const int BatchRows = 16_384;

    /// <summary>Batches in the ring: one being filled, one being taken, the rest waiting either way.</summary>
    internal const int Depth = 4;

    /// <summary>Whether passes run on two threads (<c>MEMNB_PIPELINE=0</c> reads on the calling thread alone).</summary>
    internal static bool Enabled { get; } = Environment.GetEnvironmentVariable("MEMNB_PIPELINE") != "0" && Environment.ProcessorCount > 1;

    public static CaptureReadResult Read(string path, CaptureVisitor visitor, CaptureReaderOptions options, long extent,
        IProgress<double>? progress = null, double start = 0, double span = 1)
    {
        var ring = new Ring(visitor);
        var reading = new Thread(() => ring.Produce(path, options, extent, progress is null ? null : ring, start, span))
        {
            IsBackground = true,
            Name = "memnb capture decoder",
        };
        reading.Start();
        try
        {
            return ring.Consume(progress);
        }
        finally
        {
            ring.Stop();
            reading.Join();
        }
    }

    private enum Kind : byte { Rows, Singles, Frees, FreeRuns, Call, End }

    private readonly record struct FreeRun(int Stream, long FirstSequence, long Count, long Ticks, long GcIndex);

    private sealed class Batch
    {
        public readonly long[] Ticks = new long[BatchRows];
        public readonly int[] Types = new int[BatchRows];
        public readonly long[] Sizes = new long[BatchRows];
        public readonly int[] Stacks = new int[BatchRows];
        public readonly ulong[] Addresses = new ulong[BatchRows];
        public Kind Kind;
        public int Stream;
        public long FirstSequence;
        public int Count;
        public Action<CaptureVisitor>? Call;
        // Single records (sampled and native allocations, native frees), made the first time a batch holds them.
        public AllocationRecord[]? Singles;
        public FreeRecord[]? Frees;
        public FreeRun[]? FreeRuns;
        // The reader's progress when the batch was published (NaN: none new).
        public double Progress = double.NaN;
    }

    /// <summary>The batches, the reader's side (<see cref="Produce"/>, a visitor of the reader) and the visitor's side (<see cref="Consume"/>).</summary>
    private sealed class Ring(CaptureVisitor target) : CaptureVisitor, IProgress<double>
    {
        private readonly Batch[] batches = Enumerable.Range(0, Depth).Select(_ => new Batch()).ToArray();
        private readonly SemaphoreSlim free = new(Depth, Depth + Depth);
        private readonly SemaphoreSlim filled = new(0, Depth);
        private readonly Forwarded forwarded = Forwarded.Of(target.GetType());
        private volatile bool stopped;
        private int produceAt, consumeAt;
        private Batch? open;
        private double progressValue = double.NaN;
        private CaptureReadResult? result;
        private ExceptionDispatchInfo? readError;

        // The reader's thread.

        public void Produce(string path, CaptureReaderOptions options, long extent, IProgress<double>? progress, double start, double span)
        {
            try
            {
                result = CapturePass.Read(path, this, options, extent, progress, start, span);
                Publish();
            }
            catch (StoppedException)
            {
                return;
            }
            catch (Exception ex)
            {
                // What the reader delivered before the error reaches the visitor first, as in a sequential pass (and the
                // open batch's slot must be handed on: the visitor's side takes the slots in ring order).
                readError = ExceptionDispatchInfo.Capture(ex);
                Publish();
            }
            try
            {
                var end = Take();
                end.Kind = Kind.End;
                Publish();
            }
            catch (StoppedException)
            {
            }
        }

        /// <summary>The next free batch, made the open one (the visitor's side stopping ends the read).</summary>
        private Batch Take()
        {
            free.Wait();
            if (stopped)
                throw new StoppedException();
            var batch = batches[produceAt];
            produceAt = (produceAt + 1) % Depth;
            batch.Count = 0;
            batch.Call = null;
            return open = batch;
        }

        /// <summary>The open batch handed to the visitor's side.</summary>
        private void Publish()
        {
            if (open is null)
                return;
            open.Progress = progressValue;
            progressValue = double.NaN;
            open = null;
            filled.Release();
        }

        public void Report(double value) => progressValue = value;

        public override void OnAllocations(in AllocationBlock block)
        {
            var n = block.Count;
            var batch = open;
            if (batch is null || batch.Kind != Kind.Rows || batch.Stream != block.ThreadStream
                || batch.FirstSequence + batch.Count != block.FirstSequence || batch.Count + n > BatchRows)
            {
                Publish();
                batch = Take();
                (batch.Kind, batch.Stream, batch.FirstSequence) = (Kind.Rows, block.ThreadStream, block.FirstSequence);
            }
            var at = batch.Count;
            block.Ticks.CopyTo(batch.Ticks.AsSpan(at));
            block.TypeIndexes.CopyTo(batch.Types.AsSpan(at));
            block.Sizes.CopyTo(batch.Sizes.AsSpan(at));
            block.StackIds.CopyTo(batch.Stacks.AsSpan(at));
            block.Addresses.CopyTo(batch.Addresses.AsSpan(at));
            batch.Count = at + n;
        }

        /// <summary>A callback other than a block's, in its place after what came before it.</summary>
        private void Forward(Action<CaptureVisitor> call)
        {
            Publish();
            var batch = Take();
            (batch.Kind, batch.Call) = (Kind.Call, call);
            Publish();
        }

        // Only what the visitor overrides is forwarded (a closure each: the rare records of a pass over the allocations).
        public override void OnHeader(in CaptureHeader header) { if (forwarded.Header) { var r = header; Forward(v => v.OnHeader(r)); } }
        public override void OnClock(in ClockRecord clock) { if (forwarded.Clock) { var r = clock; Forward(v => v.OnClock(r)); } }
        public override void OnType(in TypeRecord type) { if (forwarded.Type) { var r = type; Forward(v => v.OnType(r)); } }
        public override void OnStackNode(in StackNodeRecord node) { if (forwarded.StackNode) { var r = node; Forward(v => v.OnStackNode(r)); } }
        public override void OnFrame(in FrameRecord frame) { if (forwarded.Frame) { var r = frame; Forward(v => v.OnFrame(r)); } }
        public override void OnThread(in ThreadRecord thread) { if (forwarded.Thread) { var r = thread; Forward(v => v.OnThread(r)); } }
        public override void OnThreadName(in ThreadNameRecord name) { if (forwarded.ThreadName) { var r = name; Forward(v => v.OnThreadName(r)); } }
        public override void OnSnapshot(in SnapshotRecord snapshot) { if (forwarded.Snapshot) { var r = snapshot; Forward(v => v.OnSnapshot(r)); } }
        public override void OnEnd(in EndRecord end) { if (forwarded.End) { var r = end; Forward(v => v.OnEnd(r)); } }
        public override void OnGcStart(in GcStartRecord gc) { if (forwarded.GcStart) { var r = gc; Forward(v => v.OnGcStart(r)); } }
        public override void OnGcEnd(in GcEndRecord gc) { if (forwarded.GcEnd) { var r = gc; Forward(v => v.OnGcEnd(r)); } }
        public override void OnSuspend(long ticks) { if (forwarded.Suspend) Forward(v => v.OnSuspend(ticks)); }
        public override void OnResume(long ticks) { if (forwarded.Resume) Forward(v => v.OnResume(ticks)); }
        public override void OnModule(in ModuleRecord module) { if (forwarded.Module) { var r = module; Forward(v => v.OnModule(r)); } }

        // Single allocations and frees (a native or sampled capture has one per record) go in batches, as blocks do.
        public override void OnAllocation(in AllocationRecord allocation)
        {
            if (forwarded.Allocation)
                (OpenFor(Kind.Singles).Singles ??= new AllocationRecord[BatchRows])[open!.Count++] = allocation;
        }

        public override void OnFree(in FreeRecord free)
        {
            if (forwarded.Free)
                (OpenFor(Kind.Frees).Frees ??= new FreeRecord[BatchRows])[open!.Count++] = free;
        }

        /// <summary>The open batch if it is a run of <paramref name="kind"/> with room, else a new one.</summary>
        private Batch OpenFor(Kind kind)
        {
            if (open is { } batch && batch.Kind == kind && batch.Count < BatchRows)
                return batch;
            Publish();
            batch = Take();
            batch.Kind = kind;
            return batch;
        }
        // Runs too: a pass that checks its frees against the first pass's still decodes a FREE that names allocations of a
        // chunk not read yet (written a cycle late), and such a FREE can hold many runs.
        public override void OnFreeRun(int threadStream, long firstSequence, long count, long ticks, long gcIndex)
        {
            if (forwarded.FreeRun)
                (OpenFor(Kind.FreeRuns).FreeRuns ??= new FreeRun[BatchRows])[open!.Count++] = new(threadStream, firstSequence, count, ticks, gcIndex);
        }
        public override void OnAggregateTable(AggregateTableRecord table) { if (forwarded.AggregateTable) Forward(v => v.OnAggregateTable(table)); }

        // OnFinished is the visitor's side's, after the last batch (Consume).
        public override void OnFinished(CaptureReadResult result) { }

        // The calling thread.

        public CaptureReadResult Consume(IProgress<double>? progress)
        {
            while (true)
            {
                filled.Wait();
                var batch = batches[consumeAt];
                consumeAt = (consumeAt + 1) % Depth;
                if (batch.Kind == Kind.End)
                {
                    // The last read position (the whole extent) comes with the end when no batch followed it.
                    if (!double.IsNaN(batch.Progress) && readError is null)
                        progress?.Report(batch.Progress);
                    break;
                }
                if (batch.Kind == Kind.Rows)
                {
                    var n = batch.Count;
                    target.OnAllocations(new AllocationBlock(batch.Stream, batch.FirstSequence, batch.Ticks.AsSpan(0, n),
                        batch.Types.AsSpan(0, n), batch.Sizes.AsSpan(0, n), batch.Stacks.AsSpan(0, n), batch.Addresses.AsSpan(0, n)));
                }
                else if (batch.Kind == Kind.Singles)
                {
                    for (var i = 0; i < batch.Count; i++)
                        target.OnAllocation(batch.Singles![i]);
                }
                else if (batch.Kind == Kind.Frees)
                {
                    for (var i = 0; i < batch.Count; i++)
                        target.OnFree(batch.Frees![i]);
                }
                else if (batch.Kind == Kind.FreeRuns)
                {
                    for (var i = 0; i < batch.Count; i++)
                    {
                        var run = batch.FreeRuns![i];
                        target.OnFreeRun(run.Stream, run.FirstSequence, run.Count, run.Ticks, run.GcIndex);
                    }
                }
                else
                    batch.Call!(target);
                var reported = batch.Progress;
                free.Release();
                if (!double.IsNaN(reported))
                    progress?.Report(reported);
            }
            readError?.Throw();
            target.OnFinished(result!);
            return result!;
        }

        /// <summary>The visitor's side is done (or failed): a reader waiting for a batch stops.</summary>
        public void Stop()
        {
            stopped = true;
            free.Release(Depth);
        }
    }

    private sealed class StoppedException : Exception;

    /// <summary>Which callbacks a visitor type overrides (the others do nothing: not forwarded).</summary>
    private sealed record Forwarded(bool Header, bool Clock, bool Type, bool StackNode, bool Frame, bool Thread, bool ThreadName,
        bool Snapshot, bool End, bool GcStart, bool GcEnd, bool Suspend, bool Resume, bool Module, bool Allocation, bool Free,
        bool FreeRun, bool AggregateTable)
    {
        public static Forwarded Of(Type type)
        {
            bool Overrides(string name) => type.GetMethods(BindingFlags.Public | BindingFlags.Instance)
                .Any(m => m.Name == name && m.DeclaringType != typeof(CaptureVisitor) && m.GetBaseDefinition().DeclaringType == typeof(CaptureVisitor));
            var free = Overrides(nameof(CaptureVisitor.OnFree));
            return new Forwarded(Overrides(nameof(CaptureVisitor.OnHeader)), Overrides(nameof(CaptureVisitor.OnClock)),
                Overrides(nameof(CaptureVisitor.OnType)), Overrides(nameof(CaptureVisitor.OnStackNode)), Overrides(nameof(CaptureVisitor.OnFrame)),
                Overrides(nameof(CaptureVisitor.OnThread)), Overrides(nameof(CaptureVisitor.OnThreadName)), Overrides(nameof(CaptureVisitor.OnSnapshot)),
                Overrides(nameof(CaptureVisitor.OnEnd)), Overrides(nameof(CaptureVisitor.OnGcStart)), Overrides(nameof(CaptureVisitor.OnGcEnd)),
                Overrides(nameof(CaptureVisitor.OnSuspend)), Overrides(nameof(CaptureVisitor.OnResume)), Overrides(nameof(CaptureVisitor.OnModule)),
                Overrides(nameof(CaptureVisitor.OnAllocation)), free,
                // The default OnFreeRun calls OnFree once per allocation.
                free || Overrides(nameof(CaptureVisitor.OnFreeRun)), Overrides(nameof(CaptureVisitor.OnAggregateTable)));
        }
    }
}
