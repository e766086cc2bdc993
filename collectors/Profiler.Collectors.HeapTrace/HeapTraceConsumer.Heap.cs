using Profiler.Core.Recording;
using Proto = Profiler.Core.Recording.Proto;

namespace Profiler.Collectors.HeapTrace;

// Heap events, in time order: pairing, sampling, exact totals.
public sealed partial class HeapTraceConsumer
{
    void OnAlloc(HeapAlloc a)
    {
        _heapEvents++;
        var stack = StackOf(a, a.Stack);
        if (stack is null) _withoutStack++;
        Allocate(a.TimeNanos, a.Pid, a.Tid, a.Heap, a.Address, a.Size, stack, AllocFunction.Malloc);
    }

    /// <summary>A reallocation is the free of the old block and the allocation of the new one,
    /// in that order and at the same time — resized in place or moved alike. The new block is
    /// sampled afresh: its size is what the program now holds.</summary>
    void OnReAlloc(HeapReAlloc r)
    {
        _heapEvents++;
        var stack = StackOf(r, r.Stack);
        if (r.NewAddress == 0) return; // failed: the old block stays as it was
        if (stack is null) _withoutStack++;
        Release(r.TimeNanos, r.Pid, r.Tid, r.Heap, r.OldAddress, stack, AllocFunction.Realloc);
        Allocate(r.TimeNanos, r.Pid, r.Tid, r.Heap, r.NewAddress, r.NewSize, stack, AllocFunction.Realloc);
    }

    void OnFree(HeapFree f)
    {
        _heapEvents++;
        var stack = StackOf(f, f.Stack);
        Release(f.TimeNanos, f.Pid, f.Tid, f.Heap, f.Address, stack, AllocFunction.FreeFunction);
    }

    /// <summary>Destroying a heap frees every block it still holds, at the time of the destroy.</summary>
    void OnDestroy(HeapDestroy d)
    {
        _heapEvents++;
        var totals = TotalsFor(d.Pid);
        foreach (var (address, block) in _blocks.RemoveHeap(d.Pid, d.Heap))
        {
            totals.Freed(block.Size);
            if (block.Sampled) WriteFree(d.TimeNanos, d.Pid, d.Tid, address, block, null, AllocFunction.FreeFunction);
        }
    }

    void Allocate(long time, uint pid, uint tid, ulong heap, ulong address, ulong size, ulong[]? stack,
        AllocFunction function)
    {
        var totals = TotalsFor(pid);
        bool sampled = _sampler.Sample(size, out ulong weight);
        var block = new Block(size, sampled, weight);
        if (_blocks.Add(pid, heap, address, block) is { } displaced)
        {
            // The heap handed the address out again, so its earlier block was freed although no
            // free arrived (a lost event): free it here, so it does not look live forever.
            _implicitFrees++;
            totals.Freed(displaced.Size);
            if (displaced.Sampled) WriteFree(time, pid, tid, address, displaced, null, AllocFunction.FreeFunction);
        }
        totals.Allocated(size, time);
        if (!sampled) return;
        _sampled++;
        writer.WriteEvent(new RawEvent(EventKind.Alloc, time, pid, tid, address, size, weight, StackIdOf(stack), function));
        _written++;
    }

    void Release(long time, uint pid, uint tid, ulong heap, ulong address, ulong[]? stack, AllocFunction function)
    {
        var totals = TotalsFor(pid);
        if (!_blocks.Remove(pid, heap, address, out var block))
        {
            // Allocated before tracing began: its size is unknown and it was never sampled.
            totals.FreedUntraced();
            return;
        }
        totals.Freed(block.Size);
        if (block.Sampled) WriteFree(time, pid, tid, address, block, stack, function);
    }

    /// <summary>A free carries the weight of the block it releases, so sampled totals balance.</summary>
    void WriteFree(long time, uint pid, uint tid, ulong address, Block block, ulong[]? stack, AllocFunction function)
    {
        writer.WriteEvent(new RawEvent(EventKind.Free, time, pid, tid, address, 0, block.Weight, StackIdOf(stack), function));
        _written++;
    }

    /// <summary>The event's stack: delivered with it, or from the walk that names it.</summary>
    ulong[]? StackOf(TraceRecord record, ulong[]? inline)
    {
        var walked = _walks.Take(record.Tid, record.TimeNanos);
        if (inline is not null) return StackWalkMatcher.UserFrames(inline);
        return walked is { Length: > 0 } ? walked : null;
    }

    ulong StackIdOf(ulong[]? stack)
    {
        if (stack is null || stack.Length == 0) return 0;
        ulong id = _stacks.Intern(stack, out bool isNew);
        if (isNew)
        {
            var record = new Proto.Stack { Id = id };
            record.Addresses.Add(stack);
            writer.WriteStack(record);
        }
        return id;
    }
}
