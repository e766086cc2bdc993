using System.Text.Json;

namespace Profiler.Firefox;

sealed partial class ProfileChecker
{
    int _stacks;

    void CheckShared()
    {
        const string path = "shared";
        if (root.Property(path) is not { } shared || !shared.IsObject())
        {
            _problems.Add("shared: missing or not an object");
            return;
        }
        if (shared.Property("stringArray") is { ValueKind: JsonValueKind.Array } strings)
        {
            _strings = strings.GetArrayLength();
            if (!strings.EnumerateArray().All(JsonValues.IsString)) _problems.Add("shared.stringArray: holds a value that is not a string");
        }
        else _problems.Add("shared.stringArray: missing or not an array");

        // Open every table first: their lengths bound each other's indexes.
        var funcs = TableCheck.Open(shared, "funcTable", path, _problems,
            "name", "isJS", "relevantForJS", "resource", "source", "lineNumber", "columnNumber", "originalLocation");
        var frames = TableCheck.Open(shared, "frameTable", path, _problems,
            "address", "inlineDepth", "category", "subcategory", "func", "lib", "nativeSymbol", "innerWindowID", "line", "column", "originalLocation");
        var stacks = TableCheck.Open(shared, "stackTable", path, _problems, "frame", "prefixOffset");
        var resources = TableCheck.Open(shared, "resourceTable", path, _problems, "name", "host", "type");
        var nativeSymbols = TableCheck.Open(shared, "nativeSymbols", path, _problems, "libIndex", "address", "name", "functionSize");
        var sources = TableCheck.Open(shared, "sources", path, _problems, "id", "filename", "startLine", "startColumn", "sourceMapURL", "content");
        var sourceLocations = TableCheck.Open(shared, "sourceLocationTable", path, _problems, "source", "line", "column");
        _stacks = stacks?.Length ?? 0;

        if (funcs is not null)
        {
            funcs.Indexes("name", _strings, "stringArray");
            funcs.Booleans("isJS");
            funcs.Booleans("relevantForJS");
            funcs.Indexes("resource", resources?.Length ?? 0, "resourceTable", minusOneIsNone: true);
            funcs.Indexes("source", sources?.Length ?? 0, "sources", nullable: true);
            funcs.Integers("lineNumber", 0, int.MaxValue, nullable: true);
            funcs.Integers("columnNumber", 0, int.MaxValue, nullable: true);
            funcs.Indexes("originalLocation", sourceLocations?.Length ?? 0, "sourceLocationTable", nullable: true);
        }
        if (frames is not null) CheckFrames(frames, funcs?.Length ?? 0, nativeSymbols?.Length ?? 0, sourceLocations?.Length ?? 0);
        if (stacks is not null)
        {
            stacks.Indexes("frame", frames?.Length ?? 0, "frameTable");
            // 0 marks a root; k > 0 names row i - k, so parents always come first.
            stacks.Each("prefixOffset", "0 or an offset back to an earlier row", (value, row) => value.IsInteger(0, row));
        }
        if (resources is not null)
        {
            resources.Indexes("name", _strings, "stringArray");
            resources.Indexes("host", _strings, "stringArray", nullable: true);
            resources.Integers("type", 0, int.MaxValue);
        }
        if (nativeSymbols is not null)
        {
            nativeSymbols.Indexes("libIndex", _libs, "libs");
            nativeSymbols.Integers("address", 0, MaxSafeInteger);
            nativeSymbols.Indexes("name", _strings, "stringArray");
            nativeSymbols.Integers("functionSize", 0, MaxSafeInteger, nullable: true);
        }
        if (sources is not null) sources.Indexes("filename", _strings, "stringArray");
        if (sourceLocations is not null)
        {
            sourceLocations.Indexes("source", sources?.Length ?? 0, "sources");
            sourceLocations.Integers("line", 0, int.MaxValue, nullable: true);
            sourceLocations.Integers("column", 0, int.MaxValue, nullable: true);
        }
    }

    void CheckFrames(TableCheck frames, int funcs, int nativeSymbols, int sourceLocations)
    {
        frames.Integers("address", -1, MaxSafeInteger);
        frames.Integers("inlineDepth", 0, int.MaxValue);
        frames.Indexes("category", _subcategoryCounts.Length, "meta.categories", nullable: true);
        var categories = frames.Values("category").Select(value => value.AsIndex(_subcategoryCounts.Length)).ToArray();
        frames.Each("subcategory", "null or a subcategory of the frame's category", (value, row) =>
            value.IsNull() || (row < categories.Length && categories[row] is { } category && value.IsIndex(_subcategoryCounts[category])));
        frames.Indexes("func", funcs, "funcTable");
        frames.Indexes("lib", _libs, "libs", minusOneIsNone: true);
        frames.Indexes("nativeSymbol", nativeSymbols, "nativeSymbols", nullable: true);
        frames.Numbers("innerWindowID", nullable: true);
        frames.Integers("line", 0, int.MaxValue, nullable: true);
        frames.Integers("column", 0, int.MaxValue, nullable: true);
        frames.Indexes("originalLocation", sourceLocations, "sourceLocationTable", nullable: true);
    }
}
