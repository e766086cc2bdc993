namespace Profiler.Core.Analysis;

/// <summary>
/// Reading demangled names: the crate or namespace a Rust or C++ function belongs to, and a C++
/// name without its return type and parameters. Template brackets are counted, C++ operator
/// names (<c>operator&lt;&lt;</c>, <c>operator()</c>) are stepped over.
/// </summary>
public static class DemangledNames
{
    /// <summary>
    /// The first path segment of each type or path the function's code belongs to: one for
    /// <c>a::b::f</c> or <c>&lt;a::T&gt;::f</c>, two for a trait impl <c>&lt;A as b::Trait&gt;::f</c>
    /// (the impl is std's only when both the type and the trait are std's or built in: an impl of
    /// a std trait for the program's type is the program's code). C++ names are read past their
    /// return type and without parameters. Empty when the name has no path (<c>main</c>).
    /// </summary>
    public static IEnumerable<string> FirstPathSegments(string function)
    {
        string name = QualifiedName(function);
        if (name.StartsWith('<'))
        {
            int close = MatchingClose(name, 0);
            if (close < 0) yield break;
            string inner = name[1..close];
            int asAt = TopLevelIndexOf(inner, " as ");
            if (asAt >= 0)
            {
                yield return FirstSegment(inner[..asAt]);
                yield return FirstSegment(inner[(asAt + 4)..]);
            }
            else yield return FirstSegment(inner);
            yield break;
        }
        if (TopLevelIndexOf(name, "::") < 0) yield break;
        yield return FirstSegment(name);
    }

    /// <summary>The path of a type: "&amp;mut alloc::vec::Vec&lt;T&gt;" → "alloc", "[T]" → "T", "(A, B)" → "".</summary>
    static string FirstSegment(string type)
    {
        string t = type.Trim();
        foreach (var prefix in TypePrefixes)
            while (t.StartsWith(prefix, StringComparison.Ordinal)) t = t[prefix.Length..].TrimStart();
        if (t.StartsWith('[')) t = t[1..];
        if (t.StartsWith('<')) return FirstPathSegments(t).FirstOrDefault() ?? "";
        if (t.StartsWith("(anonymous namespace)", StringComparison.Ordinal)) return "(anonymous namespace)";
        if (t.StartsWith('(')) return ""; // a tuple
        int end = 0;
        while (end < t.Length && (char.IsLetterOrDigit(t[end]) || t[end] == '_' || t[end] == '$' || t[end] == '!')) end++;
        return t[..end];
    }

    static readonly string[] TypePrefixes = ["&", "mut ", "*const ", "*mut ", "dyn ", "impl "];

    /// <summary>A C++ name without its return type, parameters, qualifiers and clone suffixes;
    /// Rust names are returned as they are (they have neither).</summary>
    public static string QualifiedName(string function)
    {
        string name = function;
        int clone = name.IndexOf(" [clone ", StringComparison.Ordinal);
        if (clone > 0) name = name[..clone];
        if (name.StartsWith('<')) return name;
        string masked = MaskOperators(name);
        // The parameter list; "(anonymous namespace)::f()" starts with a parenthesis of its own.
        int paren = TopLevelIndexOf(masked, "(", from: 1);
        if (paren > 0) (name, masked) = (name[..paren], masked[..paren]);
        // "void std::vector<int>::push_back": a template function's return type ends at the last top-level space.
        int space = LastTopLevelIndexOf(masked, ' ');
        return space >= 0 ? name[(space + 1)..] : name;
    }

    /// <summary>The text with C++ operator names' symbols ("operator&lt;&lt;", "operator()",
    /// "operator new") replaced by '_', so brackets and spaces can be counted.</summary>
    static string MaskOperators(string name)
    {
        const string Operator = "operator";
        int at = name.IndexOf(Operator, StringComparison.Ordinal);
        if (at < 0) return name;
        var chars = name.ToCharArray();
        while (at >= 0)
        {
            int i = at + Operator.Length;
            bool wordStart = at == 0 || !(char.IsLetterOrDigit(name[at - 1]) || name[at - 1] == '_');
            if (wordStart && i < name.Length)
            {
                if (name[i] == ' ') chars[i++] = '_'; // operator new, operator delete[], operator int
                if (string.CompareOrdinal(name, i, "()", 0, 2) == 0 || string.CompareOrdinal(name, i, "[]", 0, 2) == 0)
                    chars[i] = chars[i + 1] = '_';
                else if (Operators.FirstOrDefault(o => string.CompareOrdinal(name, i, o, 0, o.Length) == 0) is { } op)
                    for (int end = i + op.Length; i < end; i++) chars[i] = '_';
                if (i + 1 < name.Length && name[i] == ' ' && name[i + 1] == '<') chars[i] = '_'; // operator<< <T>
            }
            at = name.IndexOf(Operator, at + Operator.Length, StringComparison.Ordinal);
        }
        return new string(chars);
    }

    /// <summary>C++'s operator tokens, longest first: "operator+&lt;char&gt;" is operator+ with a
    /// template argument, not an operator "+&lt;".</summary>
    static readonly string[] Operators =
    [
        "<=>", "<<=", ">>=", "->*", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "++", "--", "+=", "-=", "*=", "/=", "%=",
        "^=", "&=", "|=", "->", "<", ">", "=", "!", "+", "-", "*", "/", "%", "&", "|", "^", "~", ",",
    ];

    static int MatchingClose(string text, int open)
    {
        int depth = 0;
        for (int i = open; i < text.Length; i++)
        {
            if (text[i] == '<') depth++;
            else if (text[i] == '>' && (i == 0 || text[i - 1] != '-') && --depth == 0) return i;
        }
        return -1;
    }

    static bool Opens(char c) => c is '<' or '(' or '[' or '{';

    static bool Closes(string text, int i) => text[i] is ')' or ']' or '}' || (text[i] == '>' && (i == 0 || text[i - 1] != '-'));

    static int TopLevelIndexOf(string text, string value, int from = 0)
    {
        int depth = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (depth == 0 && i >= from && string.CompareOrdinal(text, i, value, 0, value.Length) == 0) return i;
            if (Opens(text[i])) depth++;
            else if (Closes(text, i)) depth = Math.Max(0, depth - 1);
        }
        return -1;
    }

    static int LastTopLevelIndexOf(string text, char value)
    {
        int depth = 0, found = -1;
        for (int i = 0; i < text.Length; i++)
        {
            if (depth == 0 && text[i] == value) found = i;
            if (Opens(text[i])) depth++;
            else if (Closes(text, i)) depth = Math.Max(0, depth - 1);
        }
        return found;
    }
}
