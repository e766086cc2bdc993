namespace Profiler.Firefox;

/// <summary>
/// Builds a Firefox Profiler profile in the processed format (version 70) from libraries,
/// processes, threads, an interned call tree, native allocations and memory counters.
/// </summary>
public sealed partial class ProfileBuilder
{
    /// <summary>Largest integer a JavaScript number holds exactly; the profiler reads every number as one.</summary>
    public const long MaxSafeInteger = 1L << 53;

    readonly ProfileTables _tables;

    public ProfileBuilder(string product, double startTimeEpochMs, double intervalMs = 1)
    {
        RequireFinite(startTimeEpochMs, nameof(startTimeEpochMs));
        if (!(intervalMs > 0) || !double.IsFinite(intervalMs))
            throw new ArgumentOutOfRangeException(nameof(intervalMs), intervalMs, "must be a positive number of milliseconds");
        _tables = new ProfileTables(product, startTimeEpochMs, intervalMs);
        // The profiler requires a grey category to fall back on.
        OtherCategory = AddCategory("Other", CategoryColor.Grey);
        NativeCategory = AddCategory("Native", CategoryColor.Blue);
        MemoryCategory = AddCategory("Memory", CategoryColor.Orange);
    }

    public string Platform { get => _tables.Platform; init => _tables.Platform = value; }
    public string? Oscpu { get => _tables.Oscpu; init => _tables.Oscpu = value; }
    public string? Abi { get => _tables.Abi; init => _tables.Abi = value; }

    public CategoryId OtherCategory { get; }
    /// <summary>The default category of frames.</summary>
    public CategoryId NativeCategory { get; }
    /// <summary>The default category of markers.</summary>
    public CategoryId MemoryCategory { get; }

    public CategoryId AddCategory(string name, CategoryColor color)
    {
        _tables.Categories.Add(new CategoryRow(name, color));
        return new CategoryId(_tables.Categories.Count - 1);
    }

    public StringId InternString(string value) => new(_tables.Strings.Intern(value));

    public LibId AddLib(LibInfo lib)
    {
        _tables.Libs.Add(lib);
        return new LibId(_tables.Libs.Count - 1);
    }

    /// <param name="pid">Written as a string, as the format requires.</param>
    public ProcessHandle AddProcess(long pid, string name, double startTimeMs)
    {
        RequireFinite(startTimeMs, nameof(startTimeMs));
        _tables.Processes.Add(new ProcessRow(pid, name, startTimeMs));
        return new ProcessHandle(_tables.Processes.Count - 1);
    }

    public ThreadHandle AddThread(ProcessHandle process, long tid, string name, bool isMain)
    {
        RequireRow(process.Index, _tables.Processes.Count, nameof(process));
        _tables.Threads.Add(new ThreadData(process, tid, name, isMain));
        return new ThreadHandle(_tables.Threads.Count - 1);
    }

    static void RequireRow(int index, int count, string paramName)
    {
        if ((uint)index >= (uint)count)
            throw new ArgumentException($"no row {index} in a table of {count}; ids only work with the builder that made them", paramName);
    }

    static void RequireFinite(double value, string paramName)
    {
        if (!double.IsFinite(value)) throw new ArgumentOutOfRangeException(paramName, value, "must be finite");
    }

    static void RequireSafeInteger(ulong value, string paramName)
    {
        if (value > MaxSafeInteger)
            throw new ArgumentOutOfRangeException(paramName, value, "exceeds 2^53, which a JSON reader cannot hold exactly");
    }
}
