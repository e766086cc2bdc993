namespace Profiler.Firefox;

public sealed partial class ProfileBuilder
{
    /// <summary>
    /// Adds an allocation (positive <paramref name="bytes"/>) or a free (negative) to a thread's
    /// table. The profiler pairs a free with an earlier allocation at the same address only within
    /// one table, so put all of a process's events on its main thread and name the thread that
    /// really did it in <paramref name="threadId"/>.
    /// </summary>
    /// <param name="timeMs">Milliseconds since the profile's start time; any order, sorted on output.</param>
    public void AddAllocation(ThreadHandle table, double timeMs, long bytes, StackId? stack, ulong memoryAddress, long threadId)
    {
        RequireRow(table.Index, _tables.Threads.Count, nameof(table));
        RequireFinite(timeMs, nameof(timeMs));
        if (bytes is < -MaxSafeInteger or > MaxSafeInteger)
            throw new ArgumentOutOfRangeException(nameof(bytes), bytes, "exceeds 2^53 in magnitude, which a JSON reader cannot hold exactly");
        if (stack is { } stackId) RequireRow(stackId.Index, _tables.Stacks.Count, nameof(stack));
        RequireSafeInteger(memoryAddress, nameof(memoryAddress));
        _tables.Threads[table.Index].Allocations.Add(timeMs, bytes, stack, memoryAddress, threadId);
    }

    /// <summary>Adds a memory track to a process; it appears only if the process has a thread.</summary>
    public CounterId AddMemoryCounter(ProcessHandle process, string name, string description)
    {
        RequireRow(process.Index, _tables.Processes.Count, nameof(process));
        _tables.Counters.Add(new CounterColumns(process, name, description));
        return new CounterId(_tables.Counters.Count - 1);
    }

    /// <param name="deltaBytes">Net bytes allocated since the previous sample; the track draws their running sum.</param>
    /// <param name="operations">Allocations and frees since the previous sample.</param>
    public void AddCounterSample(CounterId counter, double timeMs, long deltaBytes, long operations)
    {
        RequireRow(counter.Index, _tables.Counters.Count, nameof(counter));
        RequireFinite(timeMs, nameof(timeMs));
        _tables.Counters[counter.Index].Add(timeMs, deltaBytes, operations);
    }

    /// <summary>Adds an instant marker, shown in the marker chart, the marker table and the memory track.</summary>
    /// <param name="category">Defaults to <see cref="MemoryCategory"/>.</param>
    /// <param name="bytes">An optional size shown with the marker, e.g. the heap size at a peak.</param>
    /// <param name="detail">An optional line of text shown with the marker.</param>
    public void AddMarker(ThreadHandle thread, string name, double timeMs, CategoryId? category = null, long? bytes = null, string? detail = null)
    {
        RequireRow(thread.Index, _tables.Threads.Count, nameof(thread));
        RequireFinite(timeMs, nameof(timeMs));
        var markerCategory = category ?? MemoryCategory;
        RequireRow(markerCategory.Index, _tables.Categories.Count, nameof(category));
        _tables.Threads[thread.Index].Markers.Add(new MarkerRow(InternString(name), timeMs, markerCategory, bytes, detail));
    }
}
