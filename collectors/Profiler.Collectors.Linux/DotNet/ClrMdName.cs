using System.Text;
using System.Text.RegularExpressions;

namespace Profiler.Collectors.Linux.DotNet;

/// <summary>A method as ClrMD names it (the runtime's DAC: <c>Namespace.Type.Method(Int32, System.String, Char ByRef)</c>,
/// generic arguments with their assemblies) turned into a perf map entry's form
/// (<c>[Assembly] Namespace.Type.Method(int32,string,char&amp;)</c>), so a frame named through ClrMD
/// reads as the same frame named through the runtime's perf map.</summary>
public static partial class ClrMdName
{
    /// <summary>The names the DAC gives built-in types and the IL keywords a perf map writes for them.</summary>
    static readonly Dictionary<string, string> Keywords = new(StringComparer.Ordinal)
    {
        ["Void"] = "void", ["Boolean"] = "bool", ["Char"] = "char", ["SByte"] = "int8", ["Byte"] = "uint8",
        ["Int16"] = "int16", ["UInt16"] = "uint16", ["Int32"] = "int32", ["UInt32"] = "uint32",
        ["Int64"] = "int64", ["UInt64"] = "uint64", ["Single"] = "float32", ["Double"] = "float64",
        ["IntPtr"] = "native int", ["UIntPtr"] = "native uint",
        ["System.String"] = "string", ["System.Object"] = "object", ["System.TypedReference"] = "typedref",
    };

    /// <summary>The perf map line's name part for the method ClrMD calls <paramref name="signature"/>,
    /// in the assembly <paramref name="assembly"/> (its file or simple name).</summary>
    public static string PerfMapEntry(string signature, string assembly)
    {
        string name = WithoutAssemblies(signature);
        int open = ParameterListStart(name);
        if (open >= 0) name = name[..open] + "(" + string.Join(",", SplitTopLevel(name[(open + 1)..^1]).Select(Parameter)) + ")";
        string simple = Path.GetFileNameWithoutExtension(assembly);
        return simple.Length > 0 ? $"[{simple}] {name}" : name;
    }

    /// <summary><c>[[System.Byte, System.Private.CoreLib]]</c> → <c>[System.Byte]</c>, as a perf map writes instantiations.</summary>
    static string WithoutAssemblies(string name)
    {
        string previous;
        do
        {
            previous = name;
            name = QualifiedArgument().Replace(name, "$1");
        } while (name != previous);
        return name;
    }

    /// <summary>Where the parameter list opens: the '(' matching the final ')'; -1 without one.</summary>
    static int ParameterListStart(string name)
    {
        if (!name.EndsWith(')')) return -1;
        int depth = 0;
        for (int i = name.Length - 1; i >= 0; i--)
        {
            if (name[i] == ')') depth++;
            else if (name[i] == '(' && --depth == 0) return i;
        }
        return -1;
    }

    static IEnumerable<string> SplitTopLevel(string parameters)
    {
        int depth = 0, start = 0;
        for (int i = 0; i < parameters.Length; i++)
        {
            char c = parameters[i];
            if (c is '[' or '<' or '(') depth++;
            else if (c is ']' or '>' or ')') depth--;
            else if (c == ',' && depth == 0)
            {
                yield return parameters[start..i].Trim();
                start = i + 1;
            }
        }
        if (parameters.Trim().Length > 0) yield return parameters[start..].Trim();
    }

    /// <summary>One parameter's type: built-in types as keywords, <c>ByRef</c> as <c>&amp;</c>; array
    /// and pointer suffixes kept.</summary>
    static string Parameter(string type)
    {
        var suffix = new StringBuilder();
        if (type.EndsWith(" ByRef", StringComparison.Ordinal))
        {
            type = type[..^" ByRef".Length];
            suffix.Append('&');
        }
        // Peel array ([], [,]) and pointer suffixes off the element type.
        while (true)
        {
            if (type.EndsWith('*')) { suffix.Insert(0, '*'); type = type[..^1]; continue; }
            if (type.EndsWith(']') && type.LastIndexOf('[') is int open and >= 0 && type[(open + 1)..^1].All(c => c == ','))
            {
                suffix.Insert(0, type[open..]);
                type = type[..open];
                continue;
            }
            break;
        }
        return (Keywords.TryGetValue(type, out var keyword) ? keyword : type) + suffix;
    }

    /// <summary>A bracketed generic argument with its assembly, <c>[Type, Assembly]</c>, whose type
    /// holds no qualified argument any more (inner ones go first).</summary>
    [GeneratedRegex(@"\[((?:[^\[\],]|\[[^\[\]]*\])+), [^\[\]]+\]")]
    private static partial Regex QualifiedArgument();
}
