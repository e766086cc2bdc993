using System.Text.Json;

namespace Profiler.Firefox;

static partial class ProfileJsonWriter
{
    public const string MarkerType = "NativeMemory";

    static void WriteMeta(Utf8JsonWriter json, ProfileTables tables)
    {
        json.WriteStartObject("meta");
        json.WriteNumber("interval", tables.IntervalMs);
        json.WriteNumber("startTime", tables.StartTimeEpochMs);
        json.WriteNumber("processType", 0);
        json.WriteString("product", tables.Product);
        json.WriteString("platform", tables.Platform);
        if (tables.Oscpu is not null) json.WriteString("oscpu", tables.Oscpu);
        if (tables.Abi is not null) json.WriteString("abi", tables.Abi);
        json.WriteNumber("stackwalk", 1);
        json.WriteBoolean("debug", false);
        json.WriteNumber("version", GeckoVersion);
        json.WriteNumber("preprocessedProfileVersion", ProcessedVersion);
        // False would send the profiler looking for symbol servers; every name is already here.
        json.WriteBoolean("symbolicated", true);
        json.WriteBoolean("usesOnlyOneStackType", true);
        json.WriteBoolean("sourceCodeIsNotOnSearchfox", true);
        WriteCategories(json, tables);
        WriteMarkerSchema(json, tables);
        json.WriteStartObject("sampleUnits");
        json.WriteString("time", "ms");
        json.WriteString("eventDelay", "ms");
        json.WriteString("threadCPUDelta", "ns");
        json.WriteEndObject();
        WriteInitialThreads(json, tables);
        json.WriteEndObject();
    }

    static void WriteCategories(Utf8JsonWriter json, ProfileTables tables)
    {
        json.WriteStartArray("categories");
        foreach (var category in tables.Categories)
        {
            json.WriteStartObject();
            json.WriteString("name", category.Name);
            json.WriteString("color", category.Color.ToJsonName());
            json.WriteStartArray("subcategories");
            json.WriteStringValue("Other");
            json.WriteEndArray();
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    static void WriteMarkerSchema(Utf8JsonWriter json, ProfileTables tables)
    {
        json.WriteStartArray("markerSchema");
        if (tables.Threads.Any(thread => thread.Markers.Count > 0))
        {
            json.WriteStartObject();
            json.WriteString("name", MarkerType);
            json.WriteString("tooltipLabel", "{marker.name}");
            json.WriteString("tableLabel", "{marker.name} {marker.data.bytes} {marker.data.detail}");
            json.WriteString("chartLabel", "{marker.name}");
            json.WriteString("description", "A moment in the memory use of the process");
            json.WriteStartArray("display");
            json.WriteStringValue("marker-chart");
            json.WriteStringValue("marker-table");
            json.WriteStringValue("timeline-memory");
            json.WriteEndArray();
            json.WriteStartArray("fields");
            WriteMarkerField(json, "bytes", "Size", "bytes");
            WriteMarkerField(json, "detail", "Detail", "string");
            json.WriteEndArray();
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    static void WriteMarkerField(Utf8JsonWriter json, string key, string label, string format)
    {
        json.WriteStartObject();
        json.WriteString("key", key);
        json.WriteString("label", label);
        json.WriteString("format", format);
        json.WriteEndObject();
    }

    // Threads with allocations but no CPU samples look idle and would start hidden. Only the
    // first is selected: selecting several merges them, and addresses from different tables
    // (or processes) must not be paired.
    static void WriteInitialThreads(Utf8JsonWriter json, ProfileTables tables)
    {
        var withAllocations = Enumerable.Range(0, tables.Threads.Count)
            .Where(index => tables.Threads[index].Allocations.Count > 0)
            .ToList();
        if (withAllocations.Count == 0) return;
        json.WriteStartArray("initialVisibleThreads");
        foreach (var index in withAllocations) json.WriteNumberValue(index);
        json.WriteEndArray();
        json.WriteStartArray("initialSelectedThreads");
        json.WriteNumberValue(withAllocations[0]);
        json.WriteEndArray();
    }
}
