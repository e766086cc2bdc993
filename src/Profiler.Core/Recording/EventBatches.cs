using System.IO.MemoryMappedFiles;

namespace Profiler.Core.Recording;

/// <summary>
/// A recording's events, batch by batch, for analyses that stream them instead of holding a
/// table: each walk maps the file again and decodes one batch at a time into the same columns,
/// giving back the pages it has read (<see cref="MappedPages"/>), so a walk's memory is one
/// batch whatever the recording's size. Events read into memory another way walk as one batch.
/// </summary>
public sealed class EventBatches
{
    readonly string? _path;
    readonly long _origin;
    readonly IReadOnlyList<EventBatchSlice> _slices = [];
    readonly EventColumns? _events;

    EventBatches(string path, long origin, IReadOnlyList<EventBatchSlice> slices)
    {
        (_path, _origin, _slices) = (path, origin, slices);
        foreach (var slice in slices) Count += slice.Count;
    }

    EventBatches(EventColumns events) => (_events, Count) = (events, events.Count);

    internal static EventBatches InFile(string path, long origin, IReadOnlyList<EventBatchSlice> slices) => new(path, origin, slices);

    public static EventBatches InMemory(EventColumns events) => new(events);

    /// <summary>Events in all batches, in recording order.</summary>
    public long Count { get; }

    /// <summary>Calls <paramref name="visit"/> with each batch, in recording order; the columns
    /// are reused for the next batch. Times are absolute (the recording's deltas added up).</summary>
    /// <returns>False when a batch's columns could not be decoded (nothing after it was visited).</returns>
    public unsafe bool Walk(Action<EventColumns> visit)
    {
        if (_events is not null)
        {
            visit(_events);
            return true;
        }
        using var file = new FileStream(_path!, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
        long length = file.Length - _origin;
        if (length <= 0) return _slices.Count == 0;
        using var map = MemoryMappedFile.CreateFromFile(file, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
        using var view = map.CreateViewAccessor(_origin, length, MemoryMappedFileAccess.Read);
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        try
        {
            byte* data = pointer + view.PointerOffset;
            var columns = EventColumns.OfLength(0);
            long time = 0, released = 0;
            foreach (var slice in _slices)
            {
                columns.Clear();
                int at = columns.Extend(slice.Count);
                if (!slice.DecodeInto(data, columns, at, ref time)) return false;
                visit(columns);
                long end = slice.End;
                if (end - released >= MappedPages.Window)
                {
                    MappedPages.Release(data + released, data + end);
                    released = end;
                }
            }
            return true;
        }
        finally { view.SafeMemoryMappedViewHandle.ReleasePointer(); }
    }
}
