using System.Text.Json;

namespace Profiler.Firefox;

/// <summary>Tests on single JSON values, phrased the way the profiler reads them.</summary>
static class JsonValues
{
    public static bool IsInteger(this JsonElement value, long min, long max) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) && number >= min && number <= max;

    public static bool IsIndex(this JsonElement value, int count) => value.IsInteger(0, count - 1L);

    public static bool IsNumber(this JsonElement value) => value.ValueKind == JsonValueKind.Number;

    public static bool IsNull(this JsonElement value) => value.ValueKind == JsonValueKind.Null;

    public static bool IsString(this JsonElement value) => value.ValueKind == JsonValueKind.String;

    public static bool IsBoolean(this JsonElement value) => value.ValueKind is JsonValueKind.True or JsonValueKind.False;

    public static bool IsArray(this JsonElement value) => value.ValueKind == JsonValueKind.Array;

    public static bool IsObject(this JsonElement value) => value.ValueKind == JsonValueKind.Object;

    public static JsonElement? Property(this JsonElement value, string name) =>
        value.IsObject() && value.TryGetProperty(name, out var property) ? property : null;

    public static int? AsIndex(this JsonElement value, int count) => value.IsIndex(count) ? value.GetInt32() : null;

    public static string Describe(this JsonElement value)
    {
        var text = value.GetRawText();
        return text.Length <= 60 ? text : text[..57] + "...";
    }
}
