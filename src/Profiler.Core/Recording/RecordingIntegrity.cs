namespace Profiler.Core.Recording;

/// <summary>Whether a recording is whole: its end marker written (the recorder finished), its
/// last record not cut off, and no record damaged. Figures from a recording that is not whole are
/// lower bounds at best (what is missing may be frees as well as allocations), so verdicts —
/// budgets, diffs — are refused on it unless asked for.</summary>
public sealed record RecordingIntegrity(bool HasEndMarker, bool CutShort, int DamagedRecords, long DamagedBytes)
{
    public bool Complete => HasEndMarker && !CutShort && DamagedRecords == 0;

    /// <summary>What is wrong, as the end of a sentence naming the file ("is cut short …").</summary>
    public string Describe()
    {
        var problems = new List<string>();
        if (CutShort) problems.Add("is cut short in the middle of a record");
        else if (!HasEndMarker) problems.Add("has no end marker (the recorder was killed, or its disk filled)");
        if (DamagedRecords > 0)
            problems.Add($"has {DamagedRecords:N0} damaged record{(DamagedRecords == 1 ? "" : "s")} ({DamagedBytes:N0} bytes skipped)");
        return problems.Count == 0 ? "is complete" : string.Join(" and ", problems);
    }
}
