using System.Text.Json;

namespace Profiler.Firefox;

static partial class ProfileJsonWriter
{
    /// <summary>The thread each counter hangs on: its process's main thread, else its first.</summary>
    static int[] CounterThreadIndexes(ProfileTables tables)
    {
        var indexes = new int[tables.Counters.Count];
        for (var counter = 0; counter < indexes.Length; counter++)
        {
            var process = tables.Counters[counter].Process;
            var threads = Enumerable.Range(0, tables.Threads.Count)
                .Where(index => tables.Threads[index].Process == process)
                .ToList();
            if (threads.Count == 0)
                throw new InvalidOperationException(
                    $"counter '{tables.Counters[counter].Name}' belongs to process {tables.Processes[process.Index].Pid}, which has no thread; the profiler would not show it");
            indexes[counter] = threads.FirstOrDefault(index => tables.Threads[index].IsMain, threads[0]);
        }
        return indexes;
    }

    static void WriteCounters(Utf8JsonWriter json, ProfileTables tables, int[] threadIndexes)
    {
        json.WriteStartArray("counters");
        for (var index = 0; index < tables.Counters.Count; index++)
        {
            var counter = tables.Counters[index];
            json.WriteStartObject();
            json.WriteString("name", counter.Name);
            json.WriteString("category", "Memory");
            json.WriteString("description", counter.Description);
            json.WriteString("pid", PidText(tables.Processes[counter.Process.Index]));
            json.WriteNumber("mainThreadIndex", threadIndexes[index]);
            WriteCounterSamples(json, counter);
            WriteMemoryDisplay(json);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    static void WriteCounterSamples(Utf8JsonWriter json, CounterColumns counter)
    {
        var order = TimeOrder.Stable(counter.Times);
        json.WriteStartObject("samples");
        WriteInOrder(json, "time", order, counter.Times, static (json, time) => json.WriteNumberValue(time));
        WriteInOrder(json, "count", order, counter.Counts, static (json, bytes) => json.WriteNumberValue(bytes));
        WriteInOrder(json, "number", order, counter.Numbers, static (json, operations) => json.WriteNumberValue(operations));
        json.WriteNumber("length", order.Length);
        json.WriteEndObject();
    }

    // Without `display` and its `tooltipRows` the profiler shows an error screen instead of the profile.
    static void WriteMemoryDisplay(Utf8JsonWriter json)
    {
        json.WriteStartObject("display");
        json.WriteString("graphType", "line-accumulated");
        json.WriteString("unit", "bytes");
        json.WriteString("color", "orange");
        json.WriteString("markerSchemaLocation", "timeline-memory");
        json.WriteNumber("sortWeight", 20);
        json.WriteString("label", "Memory");
        json.WriteStartArray("tooltipRows");
        WriteTooltipRow(json, "accumulated", "bytes", "relative memory at this time", "memory-relative");
        WriteTooltipRow(json, "count-range", "bytes", "memory range in graph", "memory-range");
        WriteTooltipRow(json, "sample-number", "number", "allocations and deallocations since the previous sample", "memory-operations");
        json.WriteEndArray();
        json.WriteEndObject();
    }

    static void WriteTooltipRow(Utf8JsonWriter json, string source, string unit, string label, string labelKey)
    {
        json.WriteStartObject();
        json.WriteString("type", "value");
        json.WriteString("source", source);
        json.WriteStartObject("format");
        json.WriteString("unit", unit);
        json.WriteEndObject();
        json.WriteString("label", label);
        json.WriteString("labelKey", labelKey);
        json.WriteEndObject();
    }
}
