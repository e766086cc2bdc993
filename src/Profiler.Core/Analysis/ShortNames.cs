namespace Profiler.Core.Analysis;

/// <summary>
/// Short, readable forms of function names for one-line mentions ("via Vec::reserve"): no crate
/// or namespace path, no generic arguments, parameters, return types, closures or compiler clone
/// suffixes — the type and the method (<c>Type::method</c>), or a free function with its module.
/// </summary>
public static class ShortNames
{
    public static string Of(string function)
    {
        string name = function.StartsWith("__GI_", StringComparison.Ordinal) ? function[5..] : function;
        name = DemangledNames.QualifiedName(name);
        int dot = name.IndexOf('.');
        if (dot > 0 && !name.StartsWith('<')) name = name[..dot];
        string? type = null;
        if (name.StartsWith('<'))
        {
            (type, name) = SplitImpl(name);
            if (type is null) return function;
        }
        var segments = Segments(WithoutGenerics(name)).Where(s => !IsClosureOrHash(s)).ToList();
        if (type is not null) segments.Insert(0, type);
        if (segments.Count == 0) return function;
        // From the last type before the function (Vec in alloc::vec::Vec::push), else module::function.
        int from = Math.Max(0, segments.Count - 2);
        for (int i = segments.Count - 2; i >= 0; i--)
        {
            if (segments[i].Length == 0 || !(char.IsUpper(segments[i][0]) || segments[i][0] == '[')) continue;
            from = i;
            break;
        }
        return string.Join("::", segments.Skip(from));
    }

    /// <summary>"&lt;A as b::Trait&gt;::f" → ("A", "f"); a generic A (T) gives the trait's name instead.</summary>
    static (string? Type, string Method) SplitImpl(string name)
    {
        int depth = 0, close = -1;
        for (int i = 0; i < name.Length && close < 0; i++)
        {
            if (name[i] == '<') depth++;
            else if (name[i] == '>' && name[i - 1] != '-' && --depth == 0) close = i;
        }
        if (close < 0) return (null, name);
        string inner = name[1..close];
        string rest = name[(close + 1)..].TrimStart(':');
        int asAt = IndexOutsideGenerics(inner, " as ");
        string self = asAt >= 0 ? inner[..asAt] : inner;
        string selfName = LastSegment(self.TrimStart('&').Replace("mut ", "").Trim());
        bool generic = selfName.Length <= 2 && selfName.Length > 0 && char.IsUpper(selfName[0]);
        string type = generic && asAt >= 0 ? LastSegment(inner[(asAt + 4)..]) : selfName;
        return (type, rest);
    }

    static string LastSegment(string path)
    {
        var segments = Segments(WithoutGenerics(path.Trim())).ToList();
        return segments.Count > 0 ? segments[^1] : path;
    }

    static int IndexOutsideGenerics(string text, string value)
    {
        int depth = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (depth == 0 && string.CompareOrdinal(text, i, value, 0, value.Length) == 0) return i;
            if (text[i] == '<') depth++;
            else if (text[i] == '>' && (i == 0 || text[i - 1] != '-')) depth = Math.Max(0, depth - 1);
        }
        return -1;
    }

    /// <summary>The name with every &lt;…&gt; removed (C++ operator names aside).</summary>
    static string WithoutGenerics(string name)
    {
        var result = new System.Text.StringBuilder(name.Length);
        int depth = 0;
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            bool inOperator = i >= 8 && name.AsSpan(0, i).TrimEnd("<>=").EndsWith("operator", StringComparison.Ordinal);
            if (c == '<' && !inOperator) depth++;
            else if (c == '>' && depth > 0 && name[i - 1] != '-') depth--;
            else if (depth == 0) result.Append(c);
        }
        return result.ToString().Trim();
    }

    static IEnumerable<string> Segments(string path) =>
        path.Split("::", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Closures (<c>{{closure}}</c>, <c>{closure#0}</c>) and legacy symbol hashes (<c>h0123…</c>).</summary>
    static bool IsClosureOrHash(string segment) =>
        segment.StartsWith('{') ||
        (segment.Length == 17 && segment[0] == 'h' && segment.Skip(1).All(char.IsAsciiHexDigit));
}
