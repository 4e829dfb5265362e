
namespace MemNotebook.Recorder.Format;

/// <summary>
/// One pass of a two-pass read (the Arrow conversion, <c>memnb stats</c>): the capture's bytes up to the
/// extent both passes share, the read position reported as progress.
/// </summary>
internal static class CapturePass
{
    /// <param name="extent">Bytes of the file the pass reads: its length when the first pass began, so both
    /// passes over a capture still being written see the same chunks.</param>
    public static CaptureReadResult Read(string path, CaptureVisitor visitor, CaptureReaderOptions options, long extent,
        IProgress<double>? progress = null, double start = 0, double span = 1)
    {
        try
        {
            using var file = CaptureReader.OpenFile(path);
            return CaptureReader.Read(new PassStream(file, extent, progress, start, span), path, visitor, options);
        }
        catch (CaptureFormatException ex) when (ex.BeyondSkippedChunks)
        {
            // A first pass refuses a FREE beyond what the skipped thread chunks can hold before it takes memory for
            // it; a full read says what a single read of the capture says (the allocations it counted), at that FREE
            // or before it.
            using var again = CaptureReader.OpenFile(path);
            CaptureReader.Read(new PassStream(again, extent, null, 0, 0), path, new NoVisitor(),
                new CaptureReaderOptions { AllowTruncated = options.AllowTruncated });
            throw;
        }
    }

    private sealed class NoVisitor : CaptureVisitor;

    /// <summary>
    /// A file read by one pass: at most <paramref name="limit"/> bytes of it (so both passes over a capture
    /// still being written see the same bytes), its read position reported as a fraction of
    /// <c>[start, start + span]</c>, at most every 1%.
    /// </summary>
    private sealed class PassStream(FileStream inner, long limit, IProgress<double>? progress, double start, double span) : Stream
    {
        private readonly long length = Math.Min(limit, inner.Length);
        private long reportedAt = -1;

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer[..(int)Math.Min(buffer.Length, Math.Max(0, length - inner.Position))]);
            Report();
            return n;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override long Seek(long offset, SeekOrigin origin)
        {
            var p = inner.Seek(offset, origin);
            Report();
            return p;
        }

        private void Report()
        {
            if (progress is null)
                return;
            var step = inner.Position * 100 / Math.Max(1, length);
            if (step == reportedAt)
                return;
            reportedAt = step;
            progress.Report(start + span * Math.Min(1.0, (double)inner.Position / Math.Max(1, length)));
        }

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => inner.Position; set => inner.Position = value; }
        public override void Flush() { }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

/// <summary>
/// A first pass that keeps when each object died, as runs (<see cref="FreeTimes"/>): the thread chunks are
/// skipped unread (<see cref="CaptureReaderOptions.SkipAllocations"/>), except a native capture's.
/// </summary>
internal class FreeRunsPass : CaptureVisitor
{
    public FreeTimes Frees { get; } = new();

    public override void OnFree(in FreeRecord free) => Frees.Add(free);

    public override void OnFreeRun(int threadStream, long firstSequence, long count, long ticks, long gcIndex) =>
        Frees.AddRun(threadStream, firstSequence, count, ticks, gcIndex);
}

/// <summary>
/// <see cref="FreeRunsPass"/> that also keeps the GC events and snapshots (<see cref="Build"/>): the first pass of the
/// Arrow conversion and of a scoped report pass.
/// </summary>
internal sealed class FreesAndGcsPass : FreeRunsPass
{
    private readonly CaptureDataBuilder gcs = new();

    public CaptureData Build() => gcs.Build();
    public override void OnSnapshot(in SnapshotRecord snapshot) => gcs.OnSnapshot(snapshot);
    public override void OnSuspend(long ticks) => gcs.OnSuspend(ticks);
    public override void OnResume(long ticks) => gcs.OnResume(ticks);
    public override void OnGcStart(in GcStartRecord gc) => gcs.OnGcStart(gc);
    public override void OnGcEnd(in GcEndRecord gc) => gcs.OnGcEnd(gc);
    public override void OnFinished(CaptureReadResult result) => gcs.OnFinished(result);
}
