using System.Text.Json;

namespace Profiler.Firefox;

static partial class ProfileJsonWriter
{
    const int InstantMarkerPhase = 0;

    static void WriteThreads(Utf8JsonWriter json, ProfileTables tables)
    {
        json.WriteStartArray("threads");
        foreach (var thread in tables.Threads)
        {
            var process = tables.Processes[thread.Process.Index];
            json.WriteStartObject();
            json.WriteString("processType", "default");
            json.WriteString("processName", process.Name);
            json.WriteNumber("processStartupTime", process.StartTimeMs);
            json.WriteNull("processShutdownTime");
            json.WriteNumber("registerTime", process.StartTimeMs);
            json.WriteNull("unregisterTime");
            json.WriteStartArray("pausedRanges");
            json.WriteEndArray();
            json.WriteString("name", thread.Name);
            json.WriteBoolean("isMainThread", thread.IsMain);
            json.WriteString("pid", PidText(process));
            json.WriteNumber("tid", thread.Tid);
            WriteEmptySamples(json);
            WriteMarkers(json, thread.Markers);
            if (thread.Allocations.Count > 0) WriteNativeAllocations(json, thread.Allocations);
            json.WriteEndObject();
            FlushIfFull(json);
        }
        json.WriteEndArray();
    }

    static string PidText(ProcessRow process) => process.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture);

    static void WriteEmptySamples(Utf8JsonWriter json)
    {
        json.WriteStartObject("samples");
        WriteEmptyColumns(json, "stack", "time");
        json.WriteNull("weight");
        json.WriteString("weightType", "samples");
        json.WriteNumber("length", 0);
        json.WriteEndObject();
    }

    static void WriteMarkers(Utf8JsonWriter json, IReadOnlyList<MarkerRow> markers)
    {
        json.WriteStartObject("markers");
        WriteColumn(json, "data", markers, static (json, marker) =>
        {
            json.WriteStartObject();
            json.WriteString("type", MarkerType);
            if (marker.Bytes is { } bytes) json.WriteNumber("bytes", bytes);
            if (marker.Detail is { } detail) json.WriteString("detail", detail);
            json.WriteEndObject();
        });
        WriteColumn(json, "name", markers, static (json, marker) => json.WriteNumberValue(marker.Name.Index));
        WriteColumn(json, "startTime", markers, static (json, marker) => json.WriteNumberValue(marker.TimeMs));
        WriteRepeated(json, "endTime", markers.Count, static json => json.WriteNullValue());
        WriteRepeated(json, "phase", markers.Count, static json => json.WriteNumberValue(InstantMarkerPhase));
        WriteColumn(json, "category", markers, static (json, marker) => json.WriteNumberValue(marker.Category.Index));
        json.WriteNumber("length", markers.Count);
        json.WriteEndObject();
    }

    // The profiler bisects these times, so rows go out in time order.
    static void WriteNativeAllocations(Utf8JsonWriter json, NativeAllocationColumns allocations)
    {
        var order = TimeOrder.Stable(allocations.Times);
        json.WriteStartObject("nativeAllocations");
        WriteInOrder(json, "time", order, allocations.Times, static (json, time) => json.WriteNumberValue(time));
        WriteInOrder(json, "weight", order, allocations.Weights, static (json, bytes) => json.WriteNumberValue(bytes));
        json.WriteString("weightType", "bytes");
        WriteInOrder(json, "stack", order, allocations.Stacks, static (json, stack) =>
        {
            if (stack is { } id) json.WriteNumberValue(id.Index);
            else json.WriteNullValue();
        });
        // This column is what lets the profiler pair frees with allocations (retained memory).
        WriteInOrder(json, "memoryAddress", order, allocations.MemoryAddresses, static (json, address) => json.WriteNumberValue(address));
        WriteInOrder(json, "threadId", order, allocations.ThreadIds, static (json, tid) => json.WriteNumberValue(tid));
        json.WriteNumber("length", allocations.Count);
        json.WriteEndObject();
    }

    static void WriteInOrder<T>(Utf8JsonWriter json, string name, int[] order, List<T> column, Action<Utf8JsonWriter, T> writeValue)
    {
        json.WriteStartArray(name);
        foreach (var row in order)
        {
            writeValue(json, column[row]);
            FlushIfFull(json);
        }
        json.WriteEndArray();
    }
}
