using System.Text.Json;

namespace Profiler.Firefox;

sealed partial class ProfileChecker
{
    void CheckThreads()
    {
        if (root.Property("threads") is not { } threads || !threads.IsArray())
        {
            _problems.Add("threads: missing or not an array");
            return;
        }
        _threads = threads.GetArrayLength();
        if (_threads == 0) _problems.Add("threads: empty; the profiler needs a thread to show");
        var index = 0;
        foreach (var thread in threads.EnumerateArray()) CheckThread(thread, $"threads[{index++}]");
    }

    void CheckThread(JsonElement thread, string path)
    {
        if (!thread.IsObject())
        {
            _problems.Add($"{path}: not an object");
            return;
        }
        RequireString(thread, path, "processType");
        RequireNumber(thread, path, "processStartupTime");
        RequireNumber(thread, path, "processShutdownTime", nullable: true);
        RequireNumber(thread, path, "registerTime");
        RequireNumber(thread, path, "unregisterTime", nullable: true);
        Require(thread, path, "pausedRanges", "an array", value => value.IsArray());
        RequireString(thread, path, "name");
        Require(thread, path, "isMainThread", "a boolean", value => value.IsBoolean());
        Require(thread, path, "pid", "a string (numbers are not read as pids since version 47)", value => value.IsString());
        Require(thread, path, "tid", "a number or a string", value => value.IsNumber() || value.IsString());
        // A numeric pid is reported above; remembering it too spares its counters a second report.
        if (thread.Property("pid") is { ValueKind: JsonValueKind.String or JsonValueKind.Number } pid) _threadPids.Add(pid.ToString());
        CheckSamples(thread, path);
        CheckMarkers(thread, path);
        if (thread.Property("nativeAllocations") is not null) CheckNativeAllocations(thread, path);
    }

    void CheckSamples(JsonElement thread, string path)
    {
        if (TableCheck.Open(thread, "samples", path, _problems, "stack") is not { } samples) return;
        var table = thread.GetProperty("samples");
        samples.Indexes("stack", _stacks, "shared.stackTable", nullable: true);
        if (samples.Optional(table, "time"))
        {
            samples.Numbers("time");
            samples.Ascending("time");
        }
        else if (samples.Optional(table, "timeDeltas")) samples.Numbers("timeDeltas");
        else _problems.Add($"{path}.samples: has neither time nor timeDeltas");
        if (table.Property("weight") is { ValueKind: not JsonValueKind.Null } && samples.Optional(table, "weight"))
            samples.Numbers("weight");
        RequireString(table, $"{path}.samples", "weightType");
    }

    void CheckMarkers(JsonElement thread, string path)
    {
        if (TableCheck.Open(thread, "markers", path, _problems, "data", "name", "startTime", "endTime", "phase", "category") is not { } markers)
            return;
        markers.Each("data", "null or an object whose type has a meta.markerSchema entry", (value, _) =>
            value.IsNull()
            || (value.IsObject() && (value.Property("type") is not { } type || (type.IsString() && _markerTypes.Contains(type.GetString()!)))));
        markers.Indexes("name", _strings, "shared.stringArray");
        markers.Numbers("startTime", nullable: true);
        markers.Numbers("endTime", nullable: true);
        markers.Integers("phase", 0, 3);
        markers.Indexes("category", _subcategoryCounts.Length, "meta.categories");
    }

    void CheckNativeAllocations(JsonElement thread, string path)
    {
        if (TableCheck.Open(thread, "nativeAllocations", path, _problems, "time", "weight", "stack") is not { } allocations)
            return;
        var table = thread.GetProperty("nativeAllocations");
        allocations.Numbers("time");
        // The profiler bisects these times to find the rows of a selection.
        allocations.Ascending("time");
        allocations.Numbers("weight");
        allocations.Indexes("stack", _stacks, "shared.stackTable", nullable: true);
        Require(table, $"{path}.nativeAllocations", "weightType", "\"bytes\"", value => value.IsString() && value.GetString() == "bytes");
        if (!allocations.Optional(table, "memoryAddress")) return;
        allocations.Integers("memoryAddress", 0, MaxSafeInteger);
        if (table.Property("threadId") is null) _problems.Add($"{path}.nativeAllocations.threadId: missing beside memoryAddress");
        else if (allocations.Optional(table, "threadId")) allocations.Integers("threadId", long.MinValue, long.MaxValue);
        if (rules.DeallocationViewsAgree) CheckDeallocationViewsAgree(table, $"{path}.nativeAllocations");
    }

    /// <summary>The profiler's two views of frees count different rows when a free has no stack,
    /// releases no earlier allocation, or releases one without a stack; their totals then disagree.</summary>
    void CheckDeallocationViewsAgree(JsonElement table, string path)
    {
        if (NativeAllocationViews.Of(table) is not { } views || views.DeallocationSitesBytes == views.DeallocatedBytes) return;
        _problems.Add($"{path}: Deallocation Sites sum to {views.DeallocationSitesBytes} bytes but Deallocated Memory to " +
            $"{views.DeallocatedBytes} ({views.FreesWithoutStack} free(s) without a stack, {views.UnpairedFrees} with no earlier " +
            $"allocation at their address, {views.FreesOfStacklessAllocations} of an allocation without a stack)");
    }
}
