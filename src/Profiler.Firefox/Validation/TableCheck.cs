using System.Text.Json;

namespace Profiler.Firefox;

/// <summary>
/// Checks one columnar table: every column an array of <c>length</c> values, then per-column
/// value rules. Each rule reports once per column (count and first offender), so a broken
/// table of a million rows yields a readable list.
/// </summary>
sealed class TableCheck
{
    readonly string _path;
    readonly ProblemList _problems;
    readonly Dictionary<string, JsonElement> _columns = [];

    TableCheck(string path, ProblemList problems, int length)
    {
        _path = path;
        _problems = problems;
        Length = length;
    }

    public int Length { get; }

    /// <summary>Returns null (after reporting why) when there is no usable table.</summary>
    public static TableCheck? Open(JsonElement parent, string name, string parentPath, ProblemList problems, params string[] columns)
    {
        var path = $"{parentPath}.{name}";
        if (parent.Property(name) is not { } table || !table.IsObject())
        {
            problems.Add($"{path}: missing or not an object");
            return null;
        }
        if (table.Property("length") is not { } length || !length.IsInteger(0, int.MaxValue))
        {
            problems.Add($"{path}.length: missing or not a non-negative integer");
            return null;
        }
        var check = new TableCheck(path, problems, length.GetInt32());
        foreach (var column in columns) check.Require(table, column);
        return check;
    }

    /// <summary>Adds a column that may be absent; returns whether it is present.</summary>
    public bool Optional(JsonElement table, string column) =>
        table.Property(column) is not null && Require(table, column);

    bool Require(JsonElement table, string column)
    {
        if (table.Property(column) is not { } values || !values.IsArray())
        {
            _problems.Add($"{_path}.{column}: missing or not an array");
            return false;
        }
        if (values.GetArrayLength() != Length)
        {
            _problems.Add($"{_path}.{column}: {values.GetArrayLength()} values, but length is {Length}");
            return false;
        }
        _columns[column] = values;
        return true;
    }

    public bool Has(string column) => _columns.ContainsKey(column);

    public IEnumerable<JsonElement> Values(string column) =>
        _columns.TryGetValue(column, out var values) ? values.EnumerateArray() : [];

    /// <summary>Reports the values of <paramref name="column"/> that fail <paramref name="isValid"/> (value, row).</summary>
    public void Each(string column, string expectation, Func<JsonElement, int, bool> isValid)
    {
        if (!_columns.TryGetValue(column, out var values)) return;
        var failures = 0;
        var firstRow = -1;
        var firstValue = "";
        var row = 0;
        foreach (var value in values.EnumerateArray())
        {
            if (!isValid(value, row) && failures++ == 0)
            {
                firstRow = row;
                firstValue = value.Describe();
            }
            row++;
        }
        if (failures > 0)
            _problems.Add($"{_path}.{column}: {failures} value(s) not {expectation}; first at [{firstRow}] = {firstValue}");
    }

    public void Indexes(string column, int count, string target, bool nullable = false, bool minusOneIsNone = false) =>
        Each(column, $"an index into {target} (0..{count - 1}){(nullable ? " or null" : "")}{(minusOneIsNone ? " or -1" : "")}",
            (value, _) => value.IsIndex(count) || (nullable && value.IsNull()) || (minusOneIsNone && value.IsInteger(-1, -1)));

    public void Integers(string column, long min, long max, bool nullable = false) =>
        Each(column, $"an integer in {min}..{max}{(nullable ? " or null" : "")}",
            (value, _) => value.IsInteger(min, max) || (nullable && value.IsNull()));

    public void Numbers(string column, bool nullable = false) =>
        Each(column, nullable ? "a number or null" : "a number", (value, _) => value.IsNumber() || (nullable && value.IsNull()));

    public void Booleans(string column) => Each(column, "a boolean", (value, _) => value.IsBoolean());

    public void Nulls(string column) => Each(column, "null", (value, _) => value.IsNull());

    public void Ascending(string column)
    {
        var previous = double.NegativeInfinity;
        Each(column, "in ascending order", (value, _) =>
        {
            if (!value.IsNumber()) return true;
            var current = value.GetDouble();
            var ascending = current >= previous;
            previous = Math.Max(previous, current);
            return ascending;
        });
    }
}
