using System.Text.Encodings.Web;
using System.Text.Json;

namespace Profiler.Firefox;

/// <summary>Streams <see cref="ProfileTables"/> out as processed-format JSON.</summary>
static partial class ProfileJsonWriter
{
    public const int ProcessedVersion = 70;
    public const int GeckoVersion = 36;

    // Utf8JsonWriter keeps everything in memory until flushed; flushing in slices keeps
    // a profile of millions of allocations from being buffered whole.
    const int FlushThreshold = 1 << 20;

    // Function names are full of <, > and &; the relaxed encoder leaves them readable.
    static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Write(ProfileTables tables, Stream stream)
    {
        var counterThreads = CounterThreadIndexes(tables);
        using var json = new Utf8JsonWriter(stream, Options);
        json.WriteStartObject();
        WriteMeta(json, tables);
        WriteLibs(json, tables);
        WriteShared(json, tables);
        WriteThreads(json, tables);
        WriteCounters(json, tables, counterThreads);
        json.WriteEndObject();
        json.Flush();
    }

    static void WriteLibs(Utf8JsonWriter json, ProfileTables tables)
    {
        json.WriteStartArray("libs");
        foreach (var lib in tables.Libs)
        {
            json.WriteStartObject();
            json.WriteString("arch", lib.Arch);
            json.WriteString("name", lib.Name);
            json.WriteString("path", lib.Path);
            json.WriteString("debugName", lib.DebugName);
            json.WriteString("debugPath", lib.DebugPath);
            json.WriteString("breakpadId", lib.BreakpadId);
            WriteStringOrNull(json, "codeId", lib.CodeId);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    static void FlushIfFull(Utf8JsonWriter json)
    {
        if (json.BytesPending >= FlushThreshold) json.Flush();
    }

    static void WriteStringOrNull(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null) json.WriteNull(name);
        else json.WriteString(name, value);
    }

    static void WriteNumberOrNull(Utf8JsonWriter json, int? value)
    {
        if (value is { } number) json.WriteNumberValue(number);
        else json.WriteNullValue();
    }

    static void WriteColumn<T>(Utf8JsonWriter json, string name, IReadOnlyList<T> rows, Action<Utf8JsonWriter, T> writeValue)
    {
        json.WriteStartArray(name);
        foreach (var row in rows)
        {
            writeValue(json, row);
            FlushIfFull(json);
        }
        json.WriteEndArray();
    }

    static void WriteRepeated(Utf8JsonWriter json, string name, int count, Action<Utf8JsonWriter> writeValue)
    {
        json.WriteStartArray(name);
        for (var i = 0; i < count; i++)
        {
            writeValue(json);
            FlushIfFull(json);
        }
        json.WriteEndArray();
    }

    static void WriteEmptyColumns(Utf8JsonWriter json, params ReadOnlySpan<string> names)
    {
        foreach (var name in names)
        {
            json.WriteStartArray(name);
            json.WriteEndArray();
        }
    }
}
