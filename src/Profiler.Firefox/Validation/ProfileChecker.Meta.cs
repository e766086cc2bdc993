using System.Text.Json;

namespace Profiler.Firefox;

sealed partial class ProfileChecker
{
    void CheckMeta()
    {
        if (root.Property("meta") is not { } meta || !meta.IsObject())
        {
            _problems.Add("meta: missing or not an object");
            return;
        }
        Require(meta, "meta", "version", $"{GeckoVersion}", value => value.IsInteger(GeckoVersion, GeckoVersion));
        Require(meta, "meta", "preprocessedProfileVersion", $"{ProcessedVersion}", value => value.IsInteger(ProcessedVersion, ProcessedVersion));
        Require(meta, "meta", "interval", "a positive number", value => value.IsNumber() && value.GetDouble() > 0);
        RequireNumber(meta, "meta", "startTime");
        RequireNumber(meta, "meta", "processType");
        RequireString(meta, "meta", "product");
        RequireNumber(meta, "meta", "stackwalk");
        CheckCategories(meta);
        CheckMarkerSchema(meta);
    }

    void CheckCategories(JsonElement meta)
    {
        if (meta.Property("categories") is not { } categories || !categories.IsArray())
        {
            _problems.Add("meta.categories: missing or not an array");
            return;
        }
        var counts = new List<int>();
        var hasGrey = false;
        foreach (var category in categories.EnumerateArray())
        {
            var path = $"meta.categories[{counts.Count}]";
            RequireString(category, path, "name");
            RequireString(category, path, "color");
            hasGrey |= category.Property("color") is { ValueKind: JsonValueKind.String } color && color.GetString() == "grey";
            var subcategories = category.Property("subcategories");
            if (subcategories is not { } list || !list.IsArray() || list.GetArrayLength() == 0)
                _problems.Add($"{path}.subcategories: missing or empty");
            counts.Add(subcategories is { ValueKind: JsonValueKind.Array } names ? names.GetArrayLength() : 0);
        }
        if (!hasGrey) _problems.Add("meta.categories: none is grey, which the profiler needs as its default");
        _subcategoryCounts = [.. counts];
    }

    void CheckMarkerSchema(JsonElement meta)
    {
        if (meta.Property("markerSchema") is not { } schemas || !schemas.IsArray())
        {
            _problems.Add("meta.markerSchema: missing or not an array");
            return;
        }
        var index = 0;
        foreach (var schema in schemas.EnumerateArray())
        {
            var path = $"meta.markerSchema[{index++}]";
            RequireString(schema, path, "name");
            Require(schema, path, "display", "an array of strings", value => value.IsArray() && value.EnumerateArray().All(JsonValues.IsString));
            Require(schema, path, "fields", "an array of {key, format}", value => value.IsArray() && value.EnumerateArray().All(IsMarkerField));
            if (schema.Property("name") is { ValueKind: JsonValueKind.String } name) _markerTypes.Add(name.GetString()!);
        }
    }

    static bool IsMarkerField(JsonElement field) =>
        field.Property("key") is { ValueKind: JsonValueKind.String }
        && field.Property("format") is { ValueKind: JsonValueKind.String or JsonValueKind.Object };

    void CheckInitialThreads()
    {
        if (root.Property("meta") is not { } meta) return;
        foreach (var name in (string[])["initialVisibleThreads", "initialSelectedThreads"])
        {
            if (meta.Property(name) is null) continue;
            Require(meta, "meta", name, $"an array of thread indexes (0..{_threads - 1})",
                value => value.IsArray() && value.EnumerateArray().All(thread => thread.IsIndex(_threads)));
        }
    }
}
