using System.Text.Json;

namespace Profiler.Firefox;

sealed partial class ProfileChecker
{
    void CheckCounters()
    {
        if (root.Property("counters") is not { } counters) return;
        if (!counters.IsArray())
        {
            _problems.Add("counters: not an array");
            return;
        }
        var index = 0;
        foreach (var counter in counters.EnumerateArray()) CheckCounter(counter, $"counters[{index++}]");
    }

    void CheckCounter(JsonElement counter, string path)
    {
        if (!counter.IsObject())
        {
            _problems.Add($"{path}: not an object");
            return;
        }
        RequireString(counter, path, "name");
        RequireString(counter, path, "category");
        RequireString(counter, path, "description");
        Require(counter, path, "pid", "a string", value => value.IsString());
        if (counter.Property("pid") is { ValueKind: JsonValueKind.String } pid && !_threadPids.Contains(pid.GetString()!))
            _problems.Add($"{path}.pid: \"{pid.GetString()}\" matches no thread's pid, so no track would appear");
        Require(counter, path, "mainThreadIndex", $"a thread index (0..{_threads - 1})", value => value.IsIndex(_threads));
        CheckCounterSamples(counter, path);
        CheckCounterDisplay(counter, path);
    }

    void CheckCounterSamples(JsonElement counter, string path)
    {
        if (TableCheck.Open(counter, "samples", path, _problems, "time", "count") is not { } samples) return;
        samples.Numbers("time");
        samples.Ascending("time");
        samples.Numbers("count");
        if (!samples.Optional(counter.GetProperty("samples"), "number")) return;
        samples.Integers("number", 0, MaxSafeInteger);
        // The tooltip would say "0 allocations and deallocations" beside a change in bytes.
        var counts = samples.Values("count").Select(count => count.IsNumber() && count.GetDouble() != 0).ToArray();
        samples.Each("number", "at least 1 where count is not 0", (number, row) =>
            row >= counts.Length || !counts[row] || !number.IsNumber() || number.GetDouble() != 0);
    }

    // Both are required since versions 62 and 63; without them the profiler shows an error screen.
    void CheckCounterDisplay(JsonElement counter, string path)
    {
        path += ".display";
        if (counter.Property("display") is not { } display || !display.IsObject())
        {
            _problems.Add($"{path}: missing or not an object");
            return;
        }
        RequireString(display, path, "graphType");
        RequireString(display, path, "unit");
        RequireString(display, path, "color");
        Require(display, path, "markerSchemaLocation", "a string or null", value => value.IsString() || value.IsNull());
        RequireNumber(display, path, "sortWeight");
        RequireString(display, path, "label");
        Require(display, path, "tooltipRows", "a non-empty array of rows with a type",
            value => value.IsArray() && value.GetArrayLength() > 0
                && value.EnumerateArray().All(row => row.Property("type") is { ValueKind: JsonValueKind.String }));
    }
}
