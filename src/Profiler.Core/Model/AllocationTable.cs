using Profiler.Core.Recording;

namespace Profiler.Core.Model;

/// <summary>Allocations and frees in time order with symbolized stacks.</summary>
/// <remarks>The recording's event columns (held as they were read, or permuted into time order)
/// and each event's symbolized stack in place of its raw stack id.</remarks>
public sealed class AllocationTable : IEventSource
{
    readonly EventColumns _events;

    /// <param name="events">The events, in time order.</param>
    /// <param name="stacks">Each event's stack; the model builder fills it in after handing the table out.</param>
    public AllocationTable(EventColumns events, StackId[] stacks)
    {
        // Analyses index the arrays up to their length: they must hold exactly the events.
        if (events.Kind.Length != events.Count) events = events.Select(null);
        if (stacks.Length != events.Count)
            throw new ArgumentException($"{stacks.Length} stacks for {events.Count} events", nameof(stacks));
        (_events, Stack) = (events, stacks);
    }

    public EventKind[] Kind => _events.Kind;
    public long[] TimeNanos => _events.TimeNanos;
    public uint[] Pid => _events.Pid;
    public uint[] Tid => _events.Tid;
    public ulong[] Address => _events.Address;
    public ulong[] Size => _events.Size;
    public ulong[] Weight => _events.Weight;
    public StackId[] Stack { get; }
    public AllocFunction[] Function => _events.Function;
    public int Count => _events.Count;

    long IEventSource.Count => Count;

    /// <summary>One chunk: the table's own arrays.</summary>
    public void Walk(Action<EventChunk> visit) => visit(new EventChunk
    {
        Kind = Kind, TimeNanos = TimeNanos, Pid = Pid, Tid = Tid, Address = Address, Size = Size, Weight = Weight,
        Stack = Stack, Function = Function, Count = Count, FirstIndex = 0,
    });

    /// <summary>The events at <paramref name="indices"/>, in that order.</summary>
    public AllocationTable Select(int[] indices)
    {
        var stacks = new StackId[indices.Length];
        for (int i = 0; i < indices.Length; i++) stacks[i] = Stack[indices[i]];
        return new AllocationTable(_events.Select(indices), stacks);
    }
}
