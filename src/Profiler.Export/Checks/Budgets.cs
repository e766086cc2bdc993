namespace Profiler.Export.Checks;

/// <summary>What a budget limits. The names are those of the command-line options.</summary>
public enum BudgetKind
{
    /// <summary>--max-peak: the heap's peak (live bytes at the busiest moment).</summary>
    Peak,
    /// <summary>--max-leaked: bytes still live when their process exited.</summary>
    Leaked,
    /// <summary>--max-allocated: bytes allocated over the whole run.</summary>
    Allocated,
    /// <summary>--max-allocs: allocation calls over the whole run.</summary>
    Allocs,
    /// <summary>--fail-on-leak: any leaked byte fails.</summary>
    NoLeak,
}

public static class BudgetKinds
{
    public static string OptionName(this BudgetKind kind) => kind switch
    {
        BudgetKind.Peak => "max-peak",
        BudgetKind.Leaked => "max-leaked",
        BudgetKind.Allocated => "max-allocated",
        BudgetKind.Allocs => "max-allocs",
        _ => "fail-on-leak",
    };

    /// <summary>Whether the budget's figure is bytes (else a count of calls).</summary>
    public static bool IsBytes(this BudgetKind kind) => kind != BudgetKind.Allocs;
}

/// <summary>
/// The budgets of one check. Null limits are not checked. <see cref="Ignore"/> holds function or
/// module patterns (<c>*</c> and <c>?</c> wildcards) whose sites are left out of every figure —
/// a test framework's own allocations, say.
/// </summary>
public sealed record Budgets(
    ulong? MaxPeak = null, ulong? MaxLeaked = null, ulong? MaxAllocated = null, ulong? MaxAllocs = null,
    bool FailOnLeak = false, IReadOnlyList<string>? Ignore = null)
{
    public IReadOnlyList<string> IgnorePatterns => Ignore ?? [];

    public bool Any => MaxPeak is not null || MaxLeaked is not null || MaxAllocated is not null || MaxAllocs is not null || FailOnLeak;

    /// <summary>The limits in a fixed order (the order of the reports and of the JUnit test cases).</summary>
    public IEnumerable<(BudgetKind Kind, ulong Limit)> Limits()
    {
        if (MaxPeak is { } peak) yield return (BudgetKind.Peak, peak);
        if (MaxLeaked is { } leaked) yield return (BudgetKind.Leaked, leaked);
        if (MaxAllocated is { } allocated) yield return (BudgetKind.Allocated, allocated);
        if (MaxAllocs is { } allocs) yield return (BudgetKind.Allocs, allocs);
        if (FailOnLeak) yield return (BudgetKind.NoLeak, 0);
    }

    /// <summary>These budgets over a file's: a limit given here wins, ignore patterns add up.</summary>
    public Budgets Over(Budgets file) => new(
        MaxPeak ?? file.MaxPeak, MaxLeaked ?? file.MaxLeaked, MaxAllocated ?? file.MaxAllocated, MaxAllocs ?? file.MaxAllocs,
        FailOnLeak || file.FailOnLeak, [.. file.IgnorePatterns, .. IgnorePatterns]);
}
