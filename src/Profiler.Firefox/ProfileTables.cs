namespace Profiler.Firefox;

/// <summary>Everything a <see cref="ProfileBuilder"/> has collected, as the writer reads it.</summary>
sealed class ProfileTables(string product, double startTimeEpochMs, double intervalMs)
{
    public string Product { get; } = product;
    public double StartTimeEpochMs { get; } = startTimeEpochMs;
    public double IntervalMs { get; } = intervalMs;
    public string Platform { get; set; } = "Linux";
    public string? Oscpu { get; set; }
    public string? Abi { get; set; }

    public Interner<string> Strings { get; } = new();
    public List<CategoryRow> Categories { get; } = [];
    public List<LibInfo> Libs { get; } = [];
    /// <summary>One resource per library that has functions.</summary>
    public Interner<ResourceRow> Resources { get; } = new();
    /// <summary>Source files, by the string id of their name.</summary>
    public Interner<StringId> Sources { get; } = new();
    public Interner<FuncRow> Funcs { get; } = new();
    public Interner<FrameRow> Frames { get; } = new();
    public Interner<NativeSymbolRow> NativeSymbols { get; } = new();
    public Interner<StackRow> Stacks { get; } = new();
    public List<ProcessRow> Processes { get; } = [];
    public List<ThreadData> Threads { get; } = [];
    public List<CounterColumns> Counters { get; } = [];
}
