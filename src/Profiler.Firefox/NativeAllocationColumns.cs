namespace Profiler.Firefox;

/// <summary>One thread's allocations and frees, kept in the order they were added.</summary>
sealed class NativeAllocationColumns
{
    public List<double> Times { get; } = [];
    public List<long> Weights { get; } = [];
    public List<StackId?> Stacks { get; } = [];
    public List<ulong> MemoryAddresses { get; } = [];
    public List<long> ThreadIds { get; } = [];

    public int Count => Times.Count;

    public void Add(double timeMs, long bytes, StackId? stack, ulong memoryAddress, long threadId)
    {
        Times.Add(timeMs);
        Weights.Add(bytes);
        Stacks.Add(stack);
        MemoryAddresses.Add(memoryAddress);
        ThreadIds.Add(threadId);
    }
}
