using Apache.Arrow.Ipc;
using MemNotebook.Recorder.Format;

namespace MemNotebook.Recorder.Arrow;

/// <summary>What a conversion wrote.</summary>
public sealed record ArrowConversion(string Folder, CaptureMetadata Metadata, long FreeRuns, bool FromCache);

/// <summary>
/// Converts a capture to Arrow IPC files (<see cref="ArrowLayout"/>) in two streaming passes: the first
/// reads only the meta and GC streams (thread chunks are skipped unread) to learn the clock and when
/// each object died, kept as runs (<see cref="FreeTimes"/>); the second decodes every allocation and
/// writes it with its free time, one record batch at a time (<see cref="AllocationBatchWriter"/>), while
/// the small tables, which the first pass has whole, are written on another thread. Memory: three
/// batches, the free runs, and the dictionaries (types, stacks, frames) — never a row per allocation.
/// </summary>
public static class ArrowConverter
{
    /// <summary>Writes the tables of <paramref name="capturePath"/> into <paramref name="folder"/> (created if needed).</summary>
    public static ArrowConversion Convert(string capturePath, string folder, IProgress<double>? progress = null,
        CaptureReaderOptions? options = null)
    {
        options ??= CaptureReaderOptions.Default;
        // Taken before reading: a capture that grows meanwhile no longer matches, and its tables are rebuilt.
        var identity = CaptureIdentity.Of(capturePath);

        // Both passes read the bytes there are now: a capture still being written gains chunks meanwhile, whose
        // types, stacks and frees a first pass would not have seen.
        var extent = new FileInfo(capturePath).Length;
        AllocationLimit.Check(capturePath, extent, AllocationLimit.For(extent, options.MaxAllocations), options.AllowTruncated);
        Storage.PrivateFiles.CreateDirectory(folder);
        var first = new FreesAndGcsPass();
        var firstRead = ReadPass(capturePath, first, new CaptureReaderOptions { AllowTruncated = options.AllowTruncated, SkipAllocations = true },
            progress, 0, extent);
        if (firstRead.FirstClockTicks is null)
        {
            // No clock pair: the time origin is the earliest timestamp of any record, allocations included.
            first = new FreesAndGcsPass();
            firstRead = ReadPass(capturePath, first, options, progress, 0, extent);
        }
        // The small tables name frames: the first pass read every frame there is, symbolized once here.
        Symbols.CaptureSymbols.Resolve(firstRead.Tables);
        var gcData = first.Build();
        if (firstRead.IsAggregated)
        {
            // No allocations: the first pass read everything there is (an ALLOC would have been an error).
            var table = SmallTables.Aggregates(firstRead);
            SmallTables.Write(folder, ArrowLayout.Aggregates, table);
            SmallTables.WriteAll(folder, firstRead, gcData.Snapshots, gcData.GcEvents);
            var totals = firstRead.AggregateTable?.Rows ?? [];
            var aggregated = CaptureMetadata.From(firstRead, totals.Sum(r => r.Count), totals.Sum(r => r.Count - r.AliveCount)) with { SourceIdentity = identity };
            aggregated.Write(Path.Combine(folder, ArrowLayout.MetadataFile));
            progress?.Report(1);
            return new ArrowConversion(folder, aggregated, 0, FromCache: false);
        }
        var lookup = first.Frees.Seal(firstRead.Clock);
        var osThreads = firstRead.Tables.Threads.Values.ToDictionary(t => t.StreamId, t => (long)t.OsThreadId);
        // The first pass read every table the small Arrow tables come from (thread chunks hold only
        // allocations): they are written on a thread of their own while the second pass runs.
        var smallTables = Task.Factory.StartNew(() => SmallTables.WriteAll(folder, firstRead, gcData.Snapshots, gcData.GcEvents),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        CaptureReadResult secondRead;
        long rows;
        var tablePath = ArrowLayout.TablePath(folder, ArrowLayout.Allocations);
        try
        {
            using var file = CreateTableFile(tablePath, ExpectedTableBytes(firstRead));
            using var writer = new ArrowFileWriter(file, ArrowLayout.AllocationsSchema, leaveOpen: false, ArrowCompression.WriteOptions);
            var batches = new AllocationBatchWriter(writer, lookup, firstRead.Clock, osThreads);
            try
            {
                secondRead = ReadPass(capturePath, batches, new CaptureReaderOptions
                {
                    AllowTruncated = options.AllowTruncated, FreesChecked = true, ExpectedStackNodes = firstRead.Tables.StackNodes.Count,
                }, progress, 0.5, extent);
                batches.Flush();
                batches.WaitForWrites();
            }
            catch
            {
                // The file writer is disposed next: let the batch being written finish first (its own error, if
                // any, matters less than the one being thrown).
                try { batches.WaitForWrites(); } catch (Exception) { }
                throw;
            }
            // The writer writes the file header with its first batch: a capture without allocations still gets a
            // valid table (header, schema, no batches), which every reader opens as an empty table.
            if (batches.Rows == 0)
                writer.WriteStart();
            writer.WriteEnd();
            // Gives back the space reserved past the end.
            file.SetLength(file.Position);
            rows = batches.Rows;
        }
        catch
        {
            // The caller may delete the folder next: the small tables' thread must be done writing into it.
            try { smallTables.Wait(); } catch (AggregateException) { }
            // A partial table is no table, and it may hold the space reserved for the whole one.
            try { File.Delete(tablePath); } catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
            throw;
        }
        smallTables.GetAwaiter().GetResult();
        var metadata = CaptureMetadata.From(secondRead, rows, first.Frees.FreedCount) with { SourceIdentity = identity };
        metadata.Write(Path.Combine(folder, ArrowLayout.MetadataFile));
        progress?.Report(1);
        return new ArrowConversion(folder, metadata, first.Frees.RunCount, FromCache: false);
    }

    /// <summary>
    /// The Arrow folder of a capture, per <paramref name="location"/>: a folder named after the capture's path in the
    /// per-user cache (<see cref="ArrowCache.UserFolderOf"/>), or <c>x.memnb.arrow/</c> beside it, else (the capture's
    /// folder is not writable, or another user owns an <c>x.memnb.arrow</c> there) the per-user cache. A folder is
    /// reused only when it is this user's alone (owned, not writable by group or others, no links) and records the
    /// identity of the capture as it is now (<see cref="CaptureIdentity"/>) and this layout version; otherwise it is
    /// rebuilt (and made again when it was deleted).
    /// </summary>
    /// <param name="maxAllocations">The most allocations the capture may hold (<see cref="AllocationLimit"/>); null
    /// for the default. Tables cached from a conversion with a higher limit are refused likewise.</param>
    /// <param name="location">Where the tables go; <see cref="ArrowCacheLocation.Default"/>: <see cref="ArrowCache.DefaultLocation"/>.</param>
    public static ArrowConversion EnsureConverted(string capturePath, IProgress<double>? progress = null, long? maxAllocations = null,
        ArrowCacheLocation location = ArrowCacheLocation.Default)
    {
        if (!File.Exists(capturePath))
            throw new FileNotFoundException($"{capturePath}: no such capture", capturePath);
        var identity = CaptureIdentity.Of(capturePath);
        var limit = AllocationLimit.For(identity.Size, maxAllocations);
        if (location == ArrowCacheLocation.Default)
            location = ArrowCache.DefaultLocation();
        if (location == ArrowCacheLocation.BesideCapture)
        {
            var folder = ArrowLayout.CacheFolder(capturePath);
            if (IsFresh(folder, identity, out var beside))
                return FromCache(capturePath, folder, beside!, identity, limit);
            // Another user's folder is neither used nor deleted.
            if (!Directory.Exists(folder) && !File.Exists(folder) || Storage.PrivateFiles.IsOwnedByUser(folder))
            {
                try
                {
                    return ConvertAtomically(capturePath, folder, progress, maxAllocations);
                }
                catch (Exception ex) when (ex is UnauthorizedAccessException or IOException && ex is not Storage.UnsafeFolderException && !File.Exists(folder))
                {
                }
            }
        }
        var user = ArrowCache.UserFolderOf(capturePath);
        if (IsFresh(user, identity, out var cached))
            return FromCache(capturePath, user, cached!, identity, limit);
        return ConvertAtomically(capturePath, user, progress, maxAllocations);
    }

    /// <summary>Cached tables, refused as their capture would be when they hold more allocations than the limit.</summary>
    private static ArrowConversion FromCache(string capturePath, string folder, CaptureMetadata cached, CaptureIdentity identity,
        AllocationLimit.Setting limit)
    {
        if (!cached.Aggregated)
            AllocationLimit.Check(capturePath, identity.Size, limit, cached.Allocations);
        return new ArrowConversion(folder, cached, 0, FromCache: true);
    }

    private static ArrowConversion ConvertAtomically(string capturePath, string folder, IProgress<double>? progress, long? maxAllocations)
    {
        var staging = folder + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            var conversion = Convert(capturePath, staging, progress, new CaptureReaderOptions { MaxAllocations = maxAllocations });
            if (Directory.Exists(folder) || File.Exists(folder))
            {
                if (Directory.Exists(folder) && !new DirectoryInfo(folder).Attributes.HasFlag(FileAttributes.ReparsePoint))
                    Directory.Delete(folder, recursive: true);
                else
                    File.Delete(folder);
            }
            Directory.Move(staging, folder);
            return conversion with { Folder = folder };
        }
        finally
        {
            if (Directory.Exists(staging))
                Directory.Delete(staging, recursive: true);
        }
    }

    /// <summary>
    /// Whether <paramref name="folder"/> holds the tables of the capture <paramref name="identity"/> describes, in
    /// this layout, written by this user alone.
    /// </summary>
    private static bool IsFresh(string folder, CaptureIdentity identity, out CaptureMetadata? metadata)
    {
        metadata = null;
        var metadataPath = Path.Combine(folder, ArrowLayout.MetadataFile);
        if (!File.Exists(metadataPath) || Storage.PrivateFiles.Distrust(folder) is not null || Storage.PrivateFiles.Distrust(metadataPath) is not null)
            return false;
        try
        {
            metadata = CaptureMetadata.Read(metadataPath);
        }
        catch (InvalidDataException)
        {
            return false;
        }
        var tables = ArrowLayout.TableNamesFor(metadata.Aggregated).Select(t => ArrowLayout.TablePath(folder, t));
        return metadata.ArrowLayoutVersion == ArrowLayout.Version && metadata.SourceIdentity == identity
            && tables.All(t => File.Exists(t) && Storage.PrivateFiles.Distrust(t) is null);
    }

    /// <summary>
    /// A new, empty file, never truncated: ext4 starts writing back a file on close when it was truncated
    /// to zero on open (O_TRUNC, its auto_da_alloc for replaced files), ~0.2 s for a 700 MB table. Space
    /// for <paramref name="expectedBytes"/> is reserved up front (the file's length stays 0) when the disk
    /// has it: the kernel then writes into allocated blocks, a third less CPU than allocating as it goes.
    /// </summary>
    private static FileStream CreateTableFile(string path, long expectedBytes)
    {
        File.Delete(path);
        var options = Storage.PrivateFiles.Private(new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 1 << 16,
            PreallocationSize = expectedBytes,
        });
        try
        {
            return new FileStream(path, options);
        }
        catch (IOException) when (expectedBytes > 0)
        {
            // Not that much space free (or no preallocation here): write as it comes, and fail only if the rows do not fit.
            File.Delete(path);
            options.PreallocationSize = 0;
            return new FileStream(path, options);
        }
    }

    /// <summary>
    /// The allocations table's size from the managed allocations the END record counts (native ones it does
    /// not count make the table grow past it): 62 bytes a row (61.25 written), plus a little per batch. 0 without END.
    /// END's count is the file's word only: no more rows are reserved than the thread chunks can hold (an
    /// ALLOC takes 6 bytes at least), so a forged count reserves no space the conversion would not write.
    /// </summary>
    private static long ExpectedTableBytes(CaptureReadResult firstRead)
    {
        if (firstRead.End is not EndRecord end || end.Allocations <= 0)
            return 0;
        var rows = Math.Min(end.Allocations, firstRead.MaxAllocations);
        var batches = rows / ArrowLayout.BatchRows + 1;
        return rows * 62 + batches * 4096 + (1 << 20);
    }

    private static CaptureReadResult ReadPass(string path, CaptureVisitor visitor, CaptureReaderOptions options,
        IProgress<double>? progress, double start, long extent) =>
        CapturePass.Read(path, visitor, options, extent, progress, start, 0.5);
}
