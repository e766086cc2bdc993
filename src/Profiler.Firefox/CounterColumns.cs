namespace Profiler.Firefox;

/// <summary>A memory counter of one process and its samples, in the order they were added.</summary>
sealed class CounterColumns(ProcessHandle process, string name, string description)
{
    public ProcessHandle Process { get; } = process;
    public string Name { get; } = name;
    public string Description { get; } = description;
    public List<double> Times { get; } = [];
    public List<long> Counts { get; } = [];
    public List<long> Numbers { get; } = [];

    public void Add(double timeMs, long deltaBytes, long operations)
    {
        Times.Add(timeMs);
        Counts.Add(deltaBytes);
        Numbers.Add(operations);
    }
}
