using System.Text.Json;

namespace Profiler.Firefox;

sealed partial class ProfileChecker
{
    /// <summary>Reports the functions, resources, libraries and symbols named like a forbidden
    /// pattern: once per column, with how many and the first.</summary>
    void CheckForbiddenNames()
    {
        if (rules.ForbiddenNames.Count == 0) return;
        var strings = root.Property("shared")?.Property("stringArray") is { ValueKind: JsonValueKind.Array } array
            ? array.EnumerateArray().Select(s => s.IsString() ? s.GetString()! : "").ToArray()
            : [];
        foreach (var (table, what) in (ReadOnlySpan<(string, string)>)[("funcTable", "function"), ("resourceTable", "resource"), ("nativeSymbols", "symbol")])
        {
            if (root.Property("shared")?.Property(table)?.Property("name") is not { ValueKind: JsonValueKind.Array } names) continue;
            ReportForbidden($"shared.{table}.name", what,
                names.EnumerateArray().Select(index => index.AsIndex(strings.Length) is { } i ? strings[i] : null));
        }
        if (root.Property("libs") is not { ValueKind: JsonValueKind.Array } libs) return;
        foreach (var field in (string[])["name", "path", "debugName", "debugPath"])
            ReportForbidden($"libs[].{field}", "library",
                libs.EnumerateArray().Select(lib => lib.Property(field) is { ValueKind: JsonValueKind.String } value ? value.GetString() : null));
    }

    void ReportForbidden(string path, string what, IEnumerable<string?> names)
    {
        int count = 0, firstRow = -1;
        string first = "", pattern = "";
        int row = 0;
        foreach (var name in names)
        {
            if (name is not null && rules.ForbiddenPatternOf(name) is { } match && count++ == 0)
                (firstRow, first, pattern) = (row, name, match);
            row++;
        }
        if (count > 0)
            _problems.Add($"{path}: {count} {what}(s) named like a forbidden pattern; first at [{firstRow}] = \"{first}\" ({pattern})");
    }
}
