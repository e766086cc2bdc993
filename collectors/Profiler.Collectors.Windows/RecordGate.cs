using Profiler.Collectors.HeapTrace;

namespace Profiler.Collectors.Windows;

/// <summary>
/// Where both session readers hand their records: one lock in front of the consumer, which is
/// not thread-safe. Records that arrive before the consumer exists (the kernel session starts
/// before a launched target has a pid) wait here and go in first.
/// </summary>
public sealed class RecordGate
{
    readonly object _lock = new();
    readonly List<TraceRecord> _early = [];
    HeapTraceConsumer? _consumer;

    public void Post(TraceRecord record)
    {
        lock (_lock)
        {
            if (_consumer is null) _early.Add(record);
            else _consumer.Add(record);
        }
    }

    public void Open(HeapTraceConsumer consumer)
    {
        lock (_lock)
        {
            _consumer = consumer;
            foreach (var record in _early) consumer.Add(record);
            _early.Clear();
        }
    }

    /// <summary>Runs <paramref name="action"/> on the consumer with the readers held off.</summary>
    public T With<T>(Func<HeapTraceConsumer, T> action)
    {
        lock (_lock)
        {
            return action(_consumer ?? throw new InvalidOperationException("the consumer is not open yet"));
        }
    }
}
